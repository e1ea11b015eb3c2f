"""Per-trial overhead of the sweeper, against Hydra's basic sweeper and hydra-optuna-sweeper.

Runs a trivial task for 40 trials (the same 40 values of ``x``) under each sweeper, in
interleaved rounds so that machine noise hits every sweeper alike, and prints medians as
ratios against the basic sweeper. Per trial is reported two ways: the whole run divided by
40, and the marginal cost ``(T40 - T1) / 39``, which leaves out the process start.

Also measures what the plugin adds to every Hydra start-up: the import of the module Hydra
discovers, in a fresh interpreter that has already imported Hydra, and checks that it pulls
in none of wandb, optuna or torch.

    python bench/overhead.py [--rounds 3] [--trials 40]

hydra-optuna-sweeper pins optuna<3; install it beside this project with
``pip install --no-deps hydra-optuna-sweeper`` to include it (it is skipped otherwise).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

APP = Path(__file__).resolve().parent / "trivial" / "app.py"


def sweepers(trials: int, space: int) -> dict[str, Callable[[Path], list[str]]]:
    """Command lines that run ``trials`` trials over ``x`` in ``0 .. space - 1``."""
    values = ",".join(str(v) for v in range(trials))
    all_values = ",".join(str(v) for v in range(space))
    runs: dict[str, Callable[[Path], list[str]]] = {
        "basic": lambda d: [f"x={values}"],
        "wandb grid": lambda d: [
            "hydra/sweeper=wandb",
            f"x=choice({values})",
            "hydra.sweeper.method=grid",
            f"hydra.sweeper.storage={d / 'journal.log'}",
        ],
        "wandb random": lambda d: [
            "hydra/sweeper=wandb",
            f"x=int(interval(0,{space - 1}))",
            f"hydra.sweeper.count={trials}",
            f"hydra.sweeper.storage={d / 'journal.log'}",
        ],
    }
    if importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is not None:
        runs["optuna (hydra-optuna-sweeper)"] = lambda d: [
            "hydra/sweeper=optuna",
            "hydra/sweeper/sampler=grid",
            f"hydra.sweeper.n_trials={trials}",
            f"x=choice({all_values})",
        ]
    return runs


def wall_time(arguments: list[str], workdir: Path) -> float:
    command = [
        sys.executable,
        str(APP),
        "-m",
        f"hydra.sweep.dir={workdir / 'multirun'}",
        *arguments,
    ]
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{completed.stderr[-3000:]}")
    return elapsed


def plugin_import_cost(repeats: int = 7) -> tuple[float, list[str]]:
    probe = (
        "import sys, time; import hydra, hydra.core.plugins, hydra.plugins.sweeper, omegaconf;"
        "t = time.perf_counter();"
        "import hydra_plugins.wandb_sweeper.wandb_sweeper;"
        "print(time.perf_counter() - t);"
        "print(','.join(m for m in ('wandb', 'optuna', 'torch') if m in sys.modules))"
    )
    costs, heavy = [], []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split("\n")
        costs.append(float(out[0]))
        heavy = [name for name in out[1].split(",") if name]
    return statistics.median(costs), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()

    full, single = sweepers(args.trials, args.trials), sweepers(1, args.trials)
    times: dict[str, dict[int, list[float]]] = {name: {1: [], args.trials: []} for name in full}
    for round_number in range(args.rounds):
        for name in full:
            for size, table in ((args.trials, full), (1, single)):
                with tempfile.TemporaryDirectory() as tmp:
                    times[name][size].append(wall_time(table[name](Path(tmp)), Path(tmp)))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

    def median(name: str, size: int) -> float:
        return statistics.median(times[name][size])

    base_total = median("basic", args.trials) / args.trials
    base_marginal = (median("basic", args.trials) - median("basic", 1)) / (args.trials - 1)
    print(f"\n{args.trials} trials of a trivial task, median of {args.rounds} rounds")
    print(
        f"{'sweeper':32} {'total s':>8} {'s/trial':>8} {'ratio':>6} {'marginal s':>11} {'ratio':>6}"
    )
    for name in full:
        total = median(name, args.trials)
        marginal = (total - median(name, 1)) / (args.trials - 1)
        print(
            f"{name:32} {total:8.2f} {total / args.trials:8.3f} "
            f"{total / args.trials / base_total:6.2f} {marginal:11.4f} {marginal / base_marginal:6.2f}"
        )
    cost, heavy = plugin_import_cost()
    print(f"\nplugin module import at Hydra discovery: {cost * 1000:.1f} ms")
    print(f"heavy modules imported by it: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
