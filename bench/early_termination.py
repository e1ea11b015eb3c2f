"""What hyperband early termination saves: one seeded bayes sweep, with and without it.

Both sweeps train the app's models for real (Lightning, the generated UCI HAR stand-in),
with the same search space, sampler seed and trial count, one after the other in this
script. Epochs are counted from the engine's storage (one report per validation epoch).

    python bench/early_termination.py [--trials 16] [--epochs 8] [--model cnn_tcn] [--seed 0]
        [more overrides for both sweeps, e.g. hydra.sweeper.bayes_startup_trials=10]

Target: at least 40% fewer epochs, with the best val/acc within 2% of the sweep without
early termination.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
import yaml

TRAIN = Path(__file__).resolve().parent.parent / "train.py"
HYPERBAND = "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}"


@dataclass
class SweepOutcome:
    wall_s: float
    epochs: int
    best: float
    stopped: int


def run_sweep(
    workdir: Path, trials: int, epochs: int, model: str, early: bool, extra: list[str]
) -> SweepOutcome:
    storage = workdir / "journal.log"
    command = [
        sys.executable,
        str(TRAIN),
        "-m",
        "hydra/sweeper=wandb",
        f"hydra.sweep.dir={workdir / 'multirun'}",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.method=bayes",
        f"hydra.sweeper.count={trials}",
        "hydra.sweeper.metric={name:val/acc,goal:maximize}",
        "optimizer.lr=tag(log,interval(1e-5,1e-1))",
        "model.dropout=interval(0.0,0.6)",
        "data.batch_size=choice(32,64,128)",
        f"model={model}",
        f"trainer.max_epochs={epochs}",
        "logger=none",
        *([HYPERBAND] if early else []),
        *extra,
    ]
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(completed.stdout[-3000:] + completed.stderr[-3000:])
    summary = yaml.safe_load((workdir / "multirun" / "optimization_results.yaml").read_text())
    backend = optuna.storages.journal.JournalFileBackend(str(storage))
    study = optuna.load_study(
        study_name=summary["sweep_id"], storage=optuna.storages.JournalStorage(backend)
    )
    epochs_run = sum(len(trial.intermediate_values) for trial in study.get_trials())
    return SweepOutcome(wall, epochs_run, summary["best_value"], summary["trials"]["stopped"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--model", default="cnn_tcn")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("overrides", nargs="*", help="more overrides for both sweeps")
    args = parser.parse_args()
    extra = [f"hydra.sweeper.seed={args.seed}", *args.overrides]

    outcomes = {}
    for label, early in (
        ("without early termination", False),
        ("hyperband min_iter 1 eta 2", True),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            outcomes[label] = run_sweep(
                Path(tmp), args.trials, args.epochs, args.model, early, extra
            )
        print(f"{label}: done", file=sys.stderr)

    base = outcomes["without early termination"]
    print(f"\nbayes sweep, {args.trials} trials x up to {args.epochs} epochs, model {args.model}")
    print(f"{'':28} {'epochs':>7} {'wall s':>8} {'best val/acc':>13} {'stopped':>8}")
    for label, outcome in outcomes.items():
        print(
            f"{label:28} {outcome.epochs:7d} {outcome.wall_s:8.1f} {outcome.best:13.4f} "
            f"{outcome.stopped:8d}"
        )
    early = outcomes["hyperband min_iter 1 eta 2"]
    print(
        f"\nepochs saved: {1 - early.epochs / base.epochs:.1%}   "
        f"wall time ratio: {early.wall_s / base.wall_s:.2f}   "
        f"best metric ratio: {early.best / base.best:.4f}"
    )


if __name__ == "__main__":
    main()
