"""Search quality on a conditional space: how bayes should treat parameters that do not apply.

The space is the app's three models, each with its own hyperparameters (``when:``), plus a
learning rate and dropout every model has; each model's optimum sits elsewhere. Compared in
the same run, each through the embedded engine as the sweeper drives it (``ask``/``tell``)
unless it says Optuna:

- ours, the default: the GP models the flattened space, every parameter drawn in every
  trial and the inactive ones thrown away (``engine/local/conditional.py``, ``sample``; a
  conditional space written as a flat one, as W&B's bayes sees it);
- gp_torch: Optuna's GPSampler on torch (``bayes_sampler: gp_torch``), inactive parameters
  drawn and ignored as by the default;
- GP + placeholders, the first default: the same GP, an inactive parameter stored at one
  fixed value (``impute``);
- GP, inactive left out: Optuna's define-by-run default (the GP fits the parameters every
  trial has, the others are drawn at random);
- TPE grouped, ours: Optuna's TPE with ``multivariate=True, group=True`` after our Sobol start;
- Optuna TPE grouped: ``TPESampler(multivariate=True, group=True, seed=...)`` as shipped,
  define-by-run (each trial suggests only its model's parameters);
- random, for scale.

Regret is the best value found minus the optimum (0.0, tcn at its best); medians and
quartiles over the seeds, and each method's median as a ratio of the default's (> 1: the
default is better), with the share of seeds on which the default is ahead.

    python bench/conditional_search.py [--seeds 15] [--trials 40] [--jobs 2] [--save f.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialState
from hydra_wandb_sweeper.engine.local.conditional import IMPUTE, SAMPLE, SKIP
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.searchspace.space import build_search_space

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers

CHECKPOINTS = (10, 20, 40)
Params = Mapping[str, Any]

SPACE: dict[str, Any] = {
    "model": {"values": ["cnn_tcn", "cnn_bilstm", "mlp"]},
    "optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    "model.dropout": {"distribution": "uniform", "min": 0.0, "max": 0.6},
    "model.kernel_size": {"values": [3, 5, 7], "when": {"model": ["cnn_tcn", "cnn_bilstm"]}},
    "model.levels": {
        "distribution": "int_uniform",
        "min": 2,
        "max": 8,
        "when": {"model": "cnn_tcn"},
    },
    "model.channels": {
        "distribution": "q_log_uniform_values",
        "min": 16,
        "max": 128,
        "q": 1,
        "when": {"model": "cnn_tcn"},
    },
    "model.hidden_size": {
        "distribution": "q_log_uniform_values",
        "min": 16,
        "max": 256,
        "q": 1,
        "when": {"model": "cnn_bilstm"},
    },
    "model.num_layers": {
        "distribution": "int_uniform",
        "min": 1,
        "max": 3,
        "when": {"model": "cnn_bilstm"},
    },
    "model.width": {
        "distribution": "q_log_uniform_values",
        "min": 32,
        "max": 512,
        "q": 1,
        "when": {"model": "mlp"},
    },
    "model.depth": {"distribution": "int_uniform", "min": 1, "max": 4, "when": {"model": "mlp"}},
}
# Each model: its floor, best log10 learning rate and best dropout
_MODELS = {"cnn_tcn": (0.0, -2.5, 0.2), "cnn_bilstm": (0.1, -3.0, 0.35), "mlp": (0.25, -2.0, 0.5)}


def objective(p: Params) -> float:
    """A validation-loss-like surface with its minimum 0.0 at cnn_tcn's best settings."""
    floor, best_lr, best_dropout = _MODELS[p["model"]]
    value = floor + 0.3 * (math.log10(p["optimizer.lr"]) - best_lr) ** 2
    value += 2.0 * (p["model.dropout"] - best_dropout) ** 2
    if p["model"] == "cnn_tcn":
        value += (
            0.02 * (p["model.levels"] - 5) ** 2
            + 0.3 * (math.log2(p["model.channels"]) - 6) ** 2 / 4
        )
        value += 0.05 * abs(p["model.kernel_size"] - 5) / 2
    elif p["model"] == "cnn_bilstm":
        value += (
            0.3 * (math.log2(p["model.hidden_size"]) - 7) ** 2 / 4
            + 0.05 * (p["model.num_layers"] - 2) ** 2
        )
        value += 0.05 * abs(p["model.kernel_size"] - 3) / 4
    else:
        value += (
            0.3 * (math.log2(p["model.width"]) - 8) ** 2 / 4 + 0.05 * (p["model.depth"] - 2) ** 2
        )
    return value


Run = Callable[[int, int], list[float]]


def _definition(method: str) -> SweepDefinition:
    space = build_search_space(SPACE, [])
    return SweepDefinition(
        method=method,
        metric_name="loss",
        goal="minimize",
        target=None,
        parameters=tuple((p.key, p.wandb_name, dict(p.spec)) for p in space.parameters),
        conditions={p.key: dict(p.when) for p in space.parameters if p.when},
    )


def engine_run(
    method: str,
    sampler: str,
    startup: int,
    inactive: str | None = None,
    factory: peers.SamplerFactory | None = None,
) -> Run:
    def run(seed: int, n: int) -> list[float]:
        values = []
        with tempfile.TemporaryDirectory() as tmp, peers.sampler_factory(factory):
            engine = LocalEngine.create(
                str(Path(tmp) / "journal.log"),
                _definition(method),
                seed=seed,
                bayes=(sampler, startup),
            )
            if inactive is not None:  # the comparison rows: another treatment of inactive ones
                engine._inactive = inactive
            try:
                for _ in range(n):
                    trial = engine.ask()
                    assert trial is not None
                    value = objective(trial.params)
                    engine.tell(trial, TrialState.FINISHED, value, None)
                    values.append(value)
            finally:
                engine.close()
        return values

    return run


def optuna_tpe_grouped(seed: int, n: int) -> list[float]:
    """Optuna's TPE for conditional spaces as its documentation shows it: define-by-run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed)
    study = optuna.create_study(sampler=sampler)
    values = []
    for _ in range(n):
        trial = study.ask()
        model = trial.suggest_categorical("model", SPACE["model"]["values"])
        p: dict[str, Any] = {
            "model": model,
            "optimizer.lr": trial.suggest_float("optimizer.lr", 1e-4, 1e-1, log=True),
            "model.dropout": trial.suggest_float("model.dropout", 0.0, 0.6),
        }
        if model in ("cnn_tcn", "cnn_bilstm"):
            p["model.kernel_size"] = trial.suggest_categorical("model.kernel_size", [3, 5, 7])
        if model == "cnn_tcn":
            p["model.levels"] = trial.suggest_int("model.levels", 2, 8)
            p["model.channels"] = trial.suggest_int("model.channels", 16, 128, log=True)
        elif model == "cnn_bilstm":
            p["model.hidden_size"] = trial.suggest_int("model.hidden_size", 16, 256, log=True)
            p["model.num_layers"] = trial.suggest_int("model.num_layers", 1, 3)
        else:
            p["model.width"] = trial.suggest_int("model.width", 32, 512, log=True)
            p["model.depth"] = trial.suggest_int("model.depth", 1, 4)
        value = objective(p)
        study.tell(trial, value)
        values.append(value)
    return values


def methods(startup: int) -> dict[str, Run]:
    return {
        "ours: GP, inactive drawn and ignored (default)": engine_run(
            "bayes", "gp", startup, SAMPLE
        ),
        "gp_torch (Optuna's GPSampler), inactive drawn and ignored": engine_run(
            "bayes", "gp_torch", startup, SAMPLE
        ),
        "GP, inactive at a placeholder (first default)": engine_run("bayes", "gp", startup, IMPUTE),
        "GP, inactive left out (define-by-run)": engine_run("bayes", "gp", startup, SKIP),
        "ours bayes_sampler=tpe (TPE grouped)": engine_run("bayes", "tpe", startup),
        "Optuna TPE grouped, as shipped": optuna_tpe_grouped,
        "random": engine_run("random", "gp", startup),
    }


def _best_so_far(name: str, seed: int, trials: int, startup: int) -> list[float]:
    """One seed of one method (in a worker process): the best value after each trial."""
    values = methods(startup)[name](seed, trials)
    return [float(v) for v in np.minimum.accumulate(values)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=15)
    parser.add_argument("--trials", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--startup", type=int, default=5, help="bayes start-up trials")
    parser.add_argument("--methods", default="", help="comma-separated name fragments")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--save", type=Path, help="also write each seed's regrets (JSON)")
    args = parser.parse_args()
    checkpoints = tuple(c for c in CHECKPOINTS if c <= args.trials)
    table = methods(args.startup)
    only = [m for m in args.methods.split(",") if m]
    if only:
        table = {name: run for name, run in table.items() if any(o in name for o in only)}
    regrets: dict[str, dict[int, list[float]]] = {name: {} for name in table}
    start = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(name, seed) for seed in seeds for name in table]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {
            pool.submit(_best_so_far, name, seed, args.trials, args.startup): (name, seed)
            for name, seed in jobs
        }
        for done, future in enumerate(as_completed(futures), start=1):
            name, seed = futures[future]
            best = future.result()
            regrets[name][seed] = [best[c - 1] for c in checkpoints]
            print(
                f"[{done}/{len(jobs)}] {name} seed {seed}: {time.perf_counter() - start:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    if args.save is not None:
        args.save.write_text(json.dumps({"checkpoints": checkpoints, "regrets": regrets}))
    print_table(regrets, args.seeds, args.startup, checkpoints)


def print_table(
    regrets: dict[str, dict[int, list[float]]],
    seeds: int,
    startup: int,
    checkpoints: tuple[int, ...],
) -> None:
    print(
        f"\nconditional space: regret after {'/'.join(map(str, checkpoints))} trials, "
        f"median [q1, q3] of {seeds} seeds (bayes start-up {startup})"
    )
    print(f"{'method':48} " + " ".join(f"{'@' + str(c):>26}" for c in checkpoints))
    medians = {}
    for name, rows in regrets.items():
        cells, medians[name] = [], []
        for column in range(len(checkpoints)):
            q1, median, q3 = np.percentile([row[column] for row in rows.values()], [25, 50, 75])
            medians[name].append(float(median))
            cells.append(f"{median:9.3g} [{q1:6.2g}, {q3:6.2g}]")
        print(f"{name:48} " + " ".join(f"{cell:>26}" for cell in cells))
    default = next((name for name in regrets if "default" in name), None)
    if default is None:
        return
    print(
        f"\nmedian regret of each method / the default's ({default}), and the share of seeds "
        "on which the default is ahead of the method's run with the same seed (ties half):"
    )
    for name in regrets:
        if name == default:
            continue
        ratios = [
            f"{peer / mine:.3g}" if mine > 0 else "n/a"
            for peer, mine in zip(medians[name], medians[default], strict=True)
        ]
        wins = [
            f"{_wins(regrets[default], regrets[name], column):.0%}"
            for column in range(len(checkpoints))
        ]
        print(f"  {name:46} " + " / ".join(ratios) + "   wins " + " / ".join(wins))


def _wins(mine: dict[int, list[float]], peer: dict[int, list[float]], column: int) -> float:
    seeds = sorted(mine.keys() & peer.keys())
    score = sum(
        1.0
        if mine[s][column] < peer[s][column]
        else 0.5
        if mine[s][column] == peer[s][column]
        else 0.0
        for s in seeds
    )
    return score / len(seeds) if seeds else float("nan")


if __name__ == "__main__":
    main()
