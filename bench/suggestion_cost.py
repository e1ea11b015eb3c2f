"""What choosing a trial costs as a sweep grows, ours against W&B's engine in the same run.

A bayes sweep over each space (continuous: Hartmann-6's 6 floats; mixed: the 5-D mixed
space of ``tuning_tasks.py``; categorical: 5 categorical parameters of 3-4 values) is filled
with N finished trials (N = 10, 100, 1000) in each storage; then, at each N:

- CPU seconds per suggestion of every method the embedded engine offers (the engine's own
  ``ask``, storage reads included), with the sampler each method gets; W&B's ``bayes`` and
  ``random`` (the ``sweeps`` package, see ``wandb_engine.py``) given the same N runs;
  "gp, unbounded (before)" is Optuna's GPSampler fitted on every trial, measured up to 1000;
- bookkeeping: CPU milliseconds of one ask + tell with ``run_cap`` set (random sampler, so
  that the sampler itself costs next to nothing);
- a new process opening the sweep (what each joiner, submitit job or joblib worker pays):
  CPU seconds to open it, and of its first bayes suggestion (a GP fitted from scratch).

    python bench/suggestion_cost.py [--spaces continuous,mixed,categorical] [--sizes 10,100,1000]
        [--storages journal,sqlite]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.engine.local.samplers import (
    BoundedGPSampler,
    SobolStartup,
    build_sampler,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import definition
from tuning_tasks import TASKS
from wandb_engine import WandbEngine

_CATEGORIES: dict[str, list[Any]] = {
    "model": ["cnn_tcn", "cnn_bilstm", "mlp"],
    "optimizer.name": ["adamw", "sgd", "rmsprop"],
    "data.batch_size": [16, 32, 64, 128],
    "model.activation": ["relu", "gelu", "tanh", "silu"],
    "model.norm": ["batch", "layer", "none"],
}


def _categorical(p: Any) -> float:
    return sum(values.index(p[key]) / len(values) for key, values in _CATEGORIES.items())


SPACES: dict[str, tuple[Callable[[Any], float], dict[str, Any]]] = {
    "continuous": (TASKS["hartmann6"].objective, TASKS["hartmann6"].parameters),
    "mixed": (TASKS["mixed"].objective, TASKS["mixed"].parameters),
    "categorical": (_categorical, {key: {"values": v} for key, v in _CATEGORIES.items()}),
}
SAMPLERS: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
    "ours bayes gp (default: numpy)": lambda: build_sampler("bayes", 0, ("gp", 10)),
    "ours bayes gp_torch": lambda: build_sampler("bayes", 0, ("gp_torch", 10)),
    "ours gp_torch, 10 local searches (before)": lambda: SobolStartup(
        BoundedGPSampler(seed=0, n_startup_trials=0, local_searches=10), 10, 0
    ),
    "ours bayes tpe": lambda: build_sampler("bayes", 0, ("tpe", 10)),
    "ours random": lambda: build_sampler("random", 0, ("gp", 10)),
}
OPENING = """
import json, sys, time
from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
start = time.process_time()
engine = LocalEngine.join(sys.argv[1], sys.argv[2], seed=1, bayes=(sys.argv[3], 5))
opened = time.process_time()
trial = engine.ask()
asked = time.process_time()
engine.tell(trial, TrialState.FINISHED, 1.0, None)
engine.close()
print(json.dumps({"open": opened - start, "first": asked - opened}))
"""


def random_params(parameters: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, spec in parameters.items():
        if "values" in spec:
            params[key] = rng.choice(spec["values"])
        elif spec.get("distribution") == "log_uniform_values":
            params[key] = math.exp(rng.uniform(math.log(spec["min"]), math.log(spec["max"])))
        elif isinstance(spec["min"], int):
            params[key] = rng.randint(spec["min"], spec["max"])
        else:
            params[key] = rng.uniform(spec["min"], spec["max"])
    return params


class Sweep:
    """A bayes sweep in one storage, grown to N finished trials by bulk inserts."""

    def __init__(self, storage: str, space: str) -> None:
        self.storage = storage
        self.function, self.parameters = SPACES[space]
        self.engine = LocalEngine.create(storage, definition("bayes", self.parameters), seed=0)
        self.runs: list[tuple[dict[str, Any], float]] = []
        self._rng = random.Random(0)
        # one real trial gives the distributions and attributes the engine writes
        self._study = self.engine._study
        self._study.sampler = build_sampler("random", 0, ("gp", 10))
        self._template = self._finish_one()

    def _finish_one(self) -> optuna.trial.FrozenTrial:
        trial = self.engine.ask()
        assert trial is not None
        value = self.function(trial.params)
        self.engine.tell(trial, TrialState.FINISHED, value, None)
        self.runs.append((dict(trial.params), value))
        return self._study.get_trials(deepcopy=False)[trial.number]

    def grow_to(self, size: int) -> None:
        new = []
        while len(self.runs) < size:
            params = random_params(self.parameters, self._rng)
            value = self.function(params)
            self.runs.append((params, value))
            new.append(
                optuna.trial.create_trial(
                    params=params,
                    distributions=self._template.distributions,
                    value=value,
                    user_attrs={"params": params, "run_id": "x", "state": "finished"},
                )
            )
        self._study.add_trials(new)

    def suggestion_cpu(self, sampler: optuna.samplers.BaseSampler, repeats: int) -> float:
        self._study.sampler = sampler
        self._finish_one()  # warm: the GP keeps its kernel parameters between suggestions
        costs = []
        for _ in range(repeats):
            start = time.process_time()
            trial = self.engine.ask()
            costs.append(time.process_time() - start)
            assert trial is not None
            self.engine.tell(trial, TrialState.FINISHED, self.function(trial.params), None)
        return statistics.median(costs)

    def bookkeeping_ms(self, repeats: int = 10) -> float:
        self._study.sampler = build_sampler("random", 0, ("gp", 10))
        self.engine.definition = dataclasses.replace(self.engine.definition, run_cap=10**9)
        costs = []
        for _ in range(repeats):
            start = time.process_time()
            self._finish_one()
            costs.append(time.process_time() - start)
        self.engine.definition = dataclasses.replace(self.engine.definition, run_cap=None)
        return 1000 * statistics.median(costs)

    def new_process(self, bayes_sampler: str) -> dict[str, float]:
        command = [sys.executable, "-c", OPENING, self.storage, self.engine.sweep_id, bayes_sampler]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        self.runs.append((self.runs[-1][0], 1.0))  # the trial it ran
        return json.loads(output.strip().splitlines()[-1])


def measure(
    storage: str, space: str, sizes: list[int], repeats: int, wandb: WandbEngine
) -> dict[str, dict[int, float]]:
    rows: dict[str, dict[int, float]] = {}
    sweep = Sweep(storage, space)
    try:
        for size in sizes:
            sweep.grow_to(size)
            for name, factory in SAMPLERS.items():
                rows.setdefault(name, {})[size] = sweep.suggestion_cpu(factory(), repeats)
            for method in ("bayes", "random"):
                config = {"method": method, "metric": {"name": "loss", "goal": "minimize"}}
                config["parameters"] = sweep.parameters
                costs = [wandb.suggest(config, sweep.runs, seed)[1] for seed in range(repeats)]
                rows.setdefault(f"W&B {method}", {})[size] = statistics.median(costs)
            rows.setdefault("ask+tell with run_cap (ms)", {})[size] = sweep.bookkeeping_ms()
            for sampler in ("gp", "gp_torch"):
                opening = sweep.new_process(sampler)
                if sampler == "gp":
                    rows.setdefault("new process: open the sweep", {})[size] = opening["open"]
                name = f"new process: first bayes suggestion ({sampler})"
                rows.setdefault(name, {})[size] = opening["first"]
            print(f"{storage.split('/')[-1]}: {size} trials measured", file=sys.stderr)
    finally:
        sweep.engine.close()
    return rows


def print_table(title: str, rows: dict[str, dict[int, float]], sizes: list[int]) -> None:
    print(f"\n{title}: CPU s per suggestion at N finished trials (bookkeeping in ms)")
    print(f"{'':40}" + "".join(f"{size:>9}" for size in sizes))
    for name, cells in rows.items():
        print(
            f"{name:40}" + "".join(f"{cells[s]:9.3g}" if s in cells else f"{'-':>9}" for s in sizes)
        )
    ours, peer = rows.get("ours bayes gp (default: numpy)", {}), rows.get("W&B bayes", {})
    ratios = [f"{ours[s] / peer[s]:9.2f}" if peer.get(s) else f"{'-':>9}" for s in sizes]
    print(f"{'ours bayes gp / W&B bayes':40}" + "".join(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", default="continuous,mixed,categorical")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--storages", default="journal")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, WandbEngine() as wandb:
        for space in args.spaces.split(","):
            for kind in args.storages.split(","):
                name = f"{space}-{kind}"
                storage = f"{tmp}/{name}.log" if kind == "journal" else f"sqlite:///{tmp}/{name}.db"
                rows = measure(storage, space, sizes, args.repeats, wandb)
                print_table(f"{space} space, storage {kind}", rows, sizes)


if __name__ == "__main__":
    main()
