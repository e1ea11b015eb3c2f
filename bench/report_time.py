"""How long `hydra-wandb-sweeper report` takes on a 200-trial sweep.

A sweep of 200 trials of bench/report_app (a stand-in with the app's parameter names and
learning curves, hyperband on) runs through the real sweeper and local engine; then the
report (HTML + 4 PNGs) is timed against a peer run in the same script: Optuna's own three
plots of the same storage written as HTML (no PNGs, no learning curves, no table).

    python bench/report_time.py [--trials 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bench" / "report_app" / "app.py"


def run_sweep(folder: Path, trials: int) -> str:
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", PYTHONPATH=str(ROOT))
    subprocess.run(
        [
            sys.executable,
            str(APP),
            "-m",
            "hydra/sweeper=wandb",
            "model=cnn_tcn,cnn_bilstm,mlp",
            "optimizer.lr=tag(log,interval(1e-4,1e-1))",
            "model.dropout=interval(0.0,0.5)",
            "data.batch_size=16,32,64,128",
            "hydra.sweeper.method=bayes",
            "hydra.sweeper.bayes_sampler=tpe",
            f"hydra.sweeper.count={trials}",
            "hydra.sweeper.seed=0",
            "hydra.sweeper.name=har-demo",
            "hydra.sweeper.metric={name:val/acc,goal:maximize}",
            "hydra.sweeper.early_terminate={type:hyperband,min_iter:2,eta:2}",
        ],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        [sys.executable, "-m", "hydra_wandb_sweeper", "list", "--json"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(listing.stdout)[-1]["sweep_id"]


def timed(command: list[str], folder: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


OPTUNA_PEER = """
import sys, optuna
from optuna.visualization import plot_optimization_history, plot_parallel_coordinate, plot_param_importances
study = optuna.load_study(study_name=sys.argv[1], storage=optuna.storages.JournalStorage(
    optuna.storages.journal.JournalFileBackend(".wandb-sweeps/journal.log")))
for name, plot in [("h", plot_optimization_history), ("p", plot_parallel_coordinate), ("i", plot_param_importances)]:
    plot(study).write_html(f"optuna-{name}.html", include_plotlyjs=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        sweep_id = run_sweep(folder, args.trials)
        print(f"sweep of {args.trials} trials: {time.perf_counter() - started:.1f} s")
        cli = [sys.executable, "-m", "hydra_wandb_sweeper", "report", sweep_id, "--out", "r"]
        report = timed(cli, folder)
        html_only = timed([*cli, "--no-png"], folder)
        peer = timed([sys.executable, "-c", OPTUNA_PEER, sweep_id], folder)
        size = (folder / "r" / "report.html").stat().st_size / 1e6
        print(
            f"report, HTML + 4 PNGs: {report:.1f} s ({report / peer:.2f}x Optuna's 3 plots as HTML)"
        )
        print(
            f"report, HTML only:     {html_only:.1f} s ({html_only / peer:.2f}x); page {size:.1f} MB"
        )
        print(f"Optuna's 3 plots:      {peer:.1f} s")


if __name__ == "__main__":
    main()
