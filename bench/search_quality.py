"""Search quality: the best value after 10, 20 and 40 trials, ours against W&B's engine.

Each function is a W&B ``parameters`` block. Our methods run through the embedded engine
exactly as the sweeper drives it (``LocalEngine.create`` from the same translated search
space, then ``ask``/``tell``), so what is measured is what the sweeper proposes; only the
Hydra job around each trial is left out. W&B's ``bayes`` and ``random`` are the ``sweeps``
package (W&B's open-source engine, in its own virtual environment, see ``wandb_engine.py``);
"optuna tpe" is Optuna's TPESampler with the defaults hydra-optuna-sweeper uses.

Regret is the best value found minus the known optimum (lower is better); the table gives
the median and quartiles over the seeds, and the last columns our default ``bayes``'s median
regret as a ratio of W&B's bayes and random in the same run (< 1: ours is better). Where
torch (the ``gp`` extra) is not installed, the default ``bayes`` is the TPE row.

    python bench/search_quality.py [--seeds 10] [--functions branin,hartmann6,mixed]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialState
from hydra_wandb_sweeper.engine.local import engine as engine_module
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.engine.local.samplers import BoundedGPSampler
from hydra_wandb_sweeper.searchspace.space import build_search_space

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wandb_engine import WandbEngine

CHECKPOINTS = (10, 20, 40)
Params = Mapping[str, Any]


# --- the functions -------------------------------------------------------------------------
def branin(p: Params) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(p: Params) -> float:
    x = np.array([p[f"x{i}"] for i in range(1, 7)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


# A training-like space: the best learning rate depends on the model (a config group).
_MODEL_OFFSET = {"cnn_tcn": 0.0, "cnn_bilstm": 0.1, "mlp": 0.3}
_MODEL_BEST_LOG_LR = {"cnn_tcn": -3.0, "cnn_bilstm": -3.5, "mlp": -2.0}
_OPTIMIZER_OFFSET = {"adamw": 0.0, "rmsprop": 0.15, "sgd": 0.4}


def mixed(p: Params) -> float:
    model = p["model"]
    lr_term = ((math.log10(p["optimizer.lr"]) - _MODEL_BEST_LOG_LR[model]) / 2) ** 2
    dropout_term = 0.5 * ((p["model.dropout"] - 0.25) / 0.25) ** 2
    layers_term = 0.5 * ((p["model.layers"] - 5) / 4) ** 2
    return (
        _MODEL_OFFSET[model]
        + _OPTIMIZER_OFFSET[p["optimizer.name"]]
        + lr_term
        + dropout_term
        + layers_term
    )


FUNCTIONS: dict[str, tuple[Callable[[Params], float], float, dict[str, Any]]] = {
    "branin": (
        branin,
        0.397887,
        {"x1": {"min": -5.0, "max": 10.0}, "x2": {"min": 0.0, "max": 15.0}},
    ),
    "hartmann6": (
        hartmann6,
        -3.32237,
        {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(1, 7)},
    ),
    "mixed": (
        mixed,
        0.0,
        {
            "optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
            "model.dropout": {"min": 0.0, "max": 0.5},
            "model.layers": {"min": 1, "max": 8},
            "optimizer.name": {"values": ["adamw", "sgd", "rmsprop"]},
            "model": {"values": ["cnn_tcn", "cnn_bilstm", "mlp"]},
        },
    ),
}


# --- the methods ---------------------------------------------------------------------------
Run = Callable[[Callable[[Params], float], dict[str, Any], int, int], list[float]]


def _definition(method: str, parameters: dict[str, Any]) -> SweepDefinition:
    space = build_search_space(parameters, [])
    return SweepDefinition(
        method=method,
        metric_name="loss",
        goal="minimize",
        target=None,
        parameters=tuple((p.key, p.wandb_name, dict(p.spec)) for p in space.parameters),
    )


@contextmanager
def _sampler_factory(factory: Callable[..., optuna.samplers.BaseSampler] | None) -> Iterator[None]:
    """Swap the engine's sampler construction (for the 'before' comparison rows only)."""
    if factory is None:
        yield
        return
    original = engine_module.build_sampler
    engine_module.build_sampler = factory
    try:
        yield
    finally:
        engine_module.build_sampler = original


def ours(
    method: str,
    bayes: tuple[str, int] | None = None,
    factory: Callable[..., optuna.samplers.BaseSampler] | None = None,
) -> Run:
    def run(
        f: Callable[[Params], float], parameters: dict[str, Any], seed: int, n: int
    ) -> list[float]:
        values = []
        with tempfile.TemporaryDirectory() as tmp, _sampler_factory(factory):
            options: dict[str, Any] = {"seed": seed}
            if bayes is not None:
                options["bayes"] = bayes
            engine = LocalEngine.create(
                str(Path(tmp) / "journal.log"), _definition(method, parameters), **options
            )
            try:
                for _ in range(n):
                    trial = engine.ask()
                    assert trial is not None
                    value = f(trial.params)
                    engine.tell(trial, TrialState.FINISHED, value, None)
                    values.append(value)
            finally:
                engine.close()
        return values

    return run


def random_startup_gp(method: str, seed: int | None, bayes: tuple[str, int]) -> Any:
    """The engine's sampler before the Sobol design: GPSampler with 10 random start-up trials."""
    if method != "bayes":
        return optuna.samplers.RandomSampler(seed=seed)
    # the bounded GP only to run on one torch thread: below 200 trials it fits on all of them
    return BoundedGPSampler(seed=seed, n_startup_trials=10, warn_independent_sampling=False)


def wandb(method: str, engine: WandbEngine) -> Run:
    def run(
        f: Callable[[Params], float], parameters: dict[str, Any], seed: int, n: int
    ) -> list[float]:
        config = {"method": method, "metric": {"name": "loss", "goal": "minimize"}}
        config["parameters"] = parameters
        runs: list[tuple[dict[str, Any], float]] = []
        for step in range(n):
            params, _ = engine.suggest(config, runs, seed * 1000 + step)
            runs.append((params, f(params)))
        return [value for _, value in runs]

    return run


def optuna_tpe(
    f: Callable[[Params], float], parameters: dict[str, Any], seed: int, n: int
) -> list[float]:
    """hydra-optuna-sweeper's default: TPESampler(seed) over the Hydra sweep's distributions."""
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    values = []
    for _ in range(n):
        trial = study.ask()
        params: dict[str, Any] = {}
        for key, spec in parameters.items():
            if "values" in spec:
                params[key] = trial.suggest_categorical(key, spec["values"])
            elif isinstance(spec["min"], int):
                params[key] = trial.suggest_int(key, spec["min"], spec["max"])
            else:
                log = spec.get("distribution") == "log_uniform_values"
                params[key] = trial.suggest_float(key, spec["min"], spec["max"], log=log)
        value = f(params)
        study.tell(trial, value)
        values.append(value)
    return values


def methods(engine: WandbEngine, startup: int, only: list[str] | None) -> dict[str, Run]:
    table: dict[str, Run] = {
        "ours bayes (default: gp)": ours("bayes", ("gp", startup)),
        # also what the default bayes runs where torch (the gp extra) is not installed
        "ours bayes tpe (default without torch)": ours("bayes", ("tpe", startup)),
        "ours random": ours("random"),
        "ours bayes gp, random start-up 10 (before)": ours("bayes", factory=random_startup_gp),
        "W&B bayes": wandb("bayes", engine),
        "W&B random": wandb("random", engine),
        "optuna tpe (hydra-optuna-sweeper)": optuna_tpe,
    }
    if only:
        table = {name: run for name, run in table.items() if any(o in name for o in only)}
    return table


# --- the table -----------------------------------------------------------------------------
def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return float(median), float(q1), float(q3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--functions", default="branin,hartmann6,mixed")
    parser.add_argument("--startup", type=int, default=None, help="bayes start-up trials")
    parser.add_argument("--methods", default="", help="comma-separated name fragments")
    parser.add_argument("--trials", type=int, default=max(CHECKPOINTS), help="40, 20 or 10")
    parser.add_argument("--json", type=Path, default=None, help="also write the regrets here")
    args = parser.parse_args()
    from hydra_wandb_sweeper.config import WandbSweeperConf

    startup = args.startup or WandbSweeperConf.bayes_startup_trials
    trials = args.trials
    checkpoints = tuple(c for c in CHECKPOINTS if c <= trials)
    results: dict[str, dict[str, list[list[float]]]] = {}
    with WandbEngine() as engine:
        table = methods(engine, startup, [m for m in args.methods.split(",") if m])
        for function_name in args.functions.split(","):
            f, optimum, parameters = FUNCTIONS[function_name]
            results[function_name] = {}
            for name, run in table.items():
                start = time.perf_counter()
                regrets = []
                for seed in range(args.seeds):
                    best = np.minimum.accumulate(run(f, parameters, seed, trials))
                    regrets.append([float(best[c - 1] - optimum) for c in checkpoints])
                results[function_name][name] = regrets
                print(
                    f"{function_name}: {name} done in {time.perf_counter() - start:.0f} s",
                    file=sys.stderr,
                )
            print_table(function_name, results[function_name], args.seeds, startup, checkpoints)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def print_table(
    function: str,
    regrets: dict[str, list[list[float]]],
    seeds: int,
    startup: int,
    checkpoints: tuple[int, ...],
) -> None:
    print(
        f"\n{function}: regret after {'/'.join(map(str, checkpoints))} trials, median [q1, q3] of {seeds} seeds"
        f" (bayes start-up {startup})"
    )
    print(f"{'method':44} " + " ".join(f"{'@' + str(c):>26}" for c in checkpoints))
    for name, rows in regrets.items():
        cells = []
        for column in range(len(checkpoints)):
            median, q1, q3 = quartiles([row[column] for row in rows])
            cells.append(f"{median:9.3g} [{q1:6.2g}, {q3:6.2g}]")
        print(f"{name:44} " + " ".join(f"{cell:>26}" for cell in cells))
    defaults = [name for name in regrets if "default" in name]
    for default in defaults:
        label = "default bayes" if "without torch" not in default else "bayes without torch"
        for peer in ("W&B bayes", "W&B random", *defaults):
            if peer == default or peer not in regrets:
                continue
            ratios = []
            for column in range(len(checkpoints)):
                ours_median = statistics.median(row[column] for row in regrets[default])
                peer_median = statistics.median(row[column] for row in regrets[peer])
                ratios.append(f"{ours_median / peer_median:.3g}" if peer_median > 0 else "n/a")
            print(f"  {label} / {peer} median regret: " + " / ".join(ratios))


if __name__ == "__main__":
    main()
