"""Hyperband: runs stopped by the local engine and by W&B's own scheduler, same histories.

W&B's rule is ``sweeps.stop_runs`` (the ``sweeps`` package in its own virtual environment,
made once by ``python -m tests.support.sweeps_venv``); ours is the local engine's pruner in an
Optuna study; "Optuna successive halving" is the rule the local engine used before
(``SuccessiveHalvingPruner(min_resource=min_iter, reduction_factor=eta)``), for reference.
Generated learning curves (``tests/support/hyperband_oracle.py``), 12 runs of 12 epochs per
seed, one at a time and 4 at once (epochs of different lengths; W&B re-judges every running
run after each report, ours judges a trial when it reports).

    python bench/hyperband_agreement.py [--seeds 30] [--runs 12] [--epochs 12] [--parallel 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from tests.support import hyperband_oracle as oracle
from tests.support.sweeps_venv import SweepsProcess

RULES: list[dict[str, Any]] = [
    {"type": "hyperband", "min_iter": 1, "eta": 2},
    {"type": "hyperband", "min_iter": 1, "eta": 2, "strict": False},
    {"type": "hyperband", "min_iter": 2, "eta": 3},
    {"type": "hyperband", "max_iter": 12, "s": 2, "eta": 2},
]


def successive_halving(early_terminate: dict[str, Any], curves: list[list[float]]) -> oracle.Stops:
    """The previous local rule, one run at a time."""
    min_iter = early_terminate.get("min_iter") or max(
        1, int(early_terminate["max_iter"] / early_terminate["eta"] ** early_terminate["s"])
    )
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=min_iter,
            reduction_factor=int(early_terminate.get("eta", 3)),
            min_early_stopping_rate=0,
        ),
    )
    stops: oracle.Stops = []
    for curve in curves:
        trial = study.ask()
        stop = None
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            if trial.should_prune():
                stop = step
                break
        state = optuna.trial.TrialState.PRUNED if stop else optuna.trial.TrialState.COMPLETE
        study.tell(trial, None if stop else curve[-1], state=state)
        stops.append(stop)
    return stops


def count(stops: oracle.Stops) -> int:
    return sum(step is not None for step in stops)


def same(ours: oracle.Stops, theirs: oracle.Stops) -> int:
    return sum(a == b for a, b in zip(ours, theirs, strict=True))


def same_runs(ours: oracle.Stops, theirs: oracle.Stops) -> int:
    """Runs both stopped, at whichever report, or neither did."""
    return sum((a is None) == (b is None) for a, b in zip(ours, theirs, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    total = args.seeds * args.runs
    start = time.perf_counter()
    with SweepsProcess(seed=0) as sweeps:
        print(
            f"{args.seeds} seeds x {args.runs} runs x {args.epochs} epochs: runs stopped of {total}"
        )
        header = (
            f"{'rule':44} {'schedule':12} {'W&B':>5} {'ours':>5} {'same stop':>10} "
            f"{'same runs':>10} {'SHA':>5}"
        )
        print(header)
        for rule in RULES:
            name = ", ".join(f"{k} {v}" for k, v in rule.items() if k != "type")
            for schedule in ("one at a time", f"{args.parallel} at once"):
                wandb_total = ours_total = agree = agree_runs = previous = 0
                for seed in range(args.seeds):
                    curves = oracle.generated_curves(seed, args.runs, args.epochs)
                    if schedule == "one at a time":
                        theirs = oracle.wandb_one_at_a_time(sweeps, rule, "maximize", curves)
                        ours = oracle.local_one_at_a_time(rule, "maximize", curves)
                        previous += count(successive_halving(rule, curves))
                    else:
                        times = oracle.epoch_times(seed, args.runs)
                        theirs = oracle.wandb_parallel(
                            sweeps, rule, "maximize", curves, times, args.parallel
                        )
                        ours = oracle.local_parallel(rule, "maximize", curves, times, args.parallel)
                    wandb_total += count(theirs)
                    ours_total += count(ours)
                    agree += same(ours, theirs)
                    agree_runs += same_runs(ours, theirs)
                sha = f"{previous:5d}" if schedule == "one at a time" else f"{'':>5}"
                print(
                    f"{name:44} {schedule:12} {wandb_total:5d} {ours_total:5d} "
                    f"{agree:>6d}/{total:<3d} {agree_runs:>6d}/{total:<3d} {sha}"
                )
    print(
        "\nW&B: sweeps.stop_runs; ours: the local engine's pruner; same stop: runs stopped "
        "after the same report (or by neither); same runs: stopped by both (at any report) "
        "or by neither; SHA: Optuna successive halving, the previous "
        f"local rule. {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
