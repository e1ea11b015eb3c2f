"""Hyperband early termination: bad trials stop at W&B's bands, good ones run to the end.

The curves keep their rank at every epoch, so the stops follow from W&B's rule by hand: at a
band the best ``floor(n / eta) + 1`` of the ``n`` trials that reached it go on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.sweeper_helpers import run_sweep, sweep_env

CURVES = Path(__file__).resolve().parents[1] / "support" / "apps" / "curves" / "app.py"


def run_curves(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(CURVES),
        "-m",
        "hydra/sweeper=wandb",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"hydra.sweeper.storage={tmp_path / 'journal.log'}",
        "hydra.sweeper.metric={name:score,goal:maximize}",
        *overrides,
    ]
    completed = subprocess.run(
        command, cwd=tmp_path, env=sweep_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def curves(tmp_path: Path) -> dict[float, int]:
    runs = [json.loads(p.read_text()) for p in (tmp_path / "multirun").glob("*/curve.json")]
    return {run["quality"]: run["epochs_run"] for run in runs}


def test_bad_trials_stop_at_a_band_and_good_ones_run_to_the_end(tmp_path):
    run_curves(
        tmp_path,
        "quality=choice(0.9,0.5,0.1,0.2)",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}",
    )
    # bands 1, 2, 4, 8. 0.5: 2 of 2 go on. 0.1 at band 1: third of 3, 2 go on: stopped.
    # 0.2 at band 1: third of 4, 3 go on; at band 2: third of 3 (0.1 has 1 row): stopped.
    assert curves(tmp_path) == {0.9: 8, 0.5: 8, 0.1: 1, 0.2: 2}
    summary = yaml.safe_load((tmp_path / "multirun" / "optimization_results.yaml").read_text())
    # stopped trials are neither failed nor lost: they count, with the metric they reached
    assert summary["trials"] == {"total": 4, "running": 0, "finished": 2, "failed": 0, "stopped": 2}
    assert summary["best_params"] == {"quality": 0.9}


def test_max_iter_and_s_form_sets_the_bands(tmp_path):
    # max_iter 8, eta 2, s 2 -> bands at 8 / 2**2 = 2 and 8 / 2 = 4 epochs; at 2, the
    # third of 3 trials is stopped (the best 2 go on)
    run_curves(
        tmp_path,
        "quality=choice(0.9,0.5,0.1)",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.early_terminate={type:hyperband,max_iter:8,s:2,eta:2}",
    )
    assert curves(tmp_path) == {0.9: 8, 0.5: 8, 0.1: 2}


def test_without_early_terminate_every_trial_runs_to_the_end(tmp_path):
    run_curves(tmp_path, "quality=choice(0.9,0.1)", "hydra.sweeper.method=grid")
    assert curves(tmp_path) == {0.9: 8, 0.1: 8}


def test_a_sweep_whose_trials_never_report_says_so_after_the_first_trial(tmp_path):
    completed = run_sweep(
        tmp_path,
        "x=choice(0,1,2)",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}",
    )
    lines = completed.stdout.splitlines()  # Hydra logs to stdout
    warnings = [line for line in lines if "reported no metric" in line]
    assert len(warnings) == 1, completed.stdout
    assert "trial 0" in warnings[0] and "SweepEarlyTermination" in warnings[0]
    assert "report(value, step)" in warnings[0]
    # it comes right after the first trial's line, not at the end
    assert "Trial 0 " in lines[lines.index(warnings[0]) - 1]


def test_a_reporting_task_gets_no_such_warning(tmp_path):
    completed = run_curves(
        tmp_path,
        "quality=choice(0.9,0.1)",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}",
    )
    assert "reported no metric" not in completed.stdout + completed.stderr
