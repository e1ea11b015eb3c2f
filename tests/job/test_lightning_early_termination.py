"""The Lightning callback stops a real Trainer at an epoch boundary when hyperband says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.sweeper_helpers import sweep_env

pytestmark = pytest.mark.slow

TRAIN = Path(__file__).resolve().parents[2] / "train.py"
MAX_EPOCHS = 3


def run_train_sweep(tmp_path: Path, *overrides: str, check: bool = True) -> dict:
    """Two trials on the HAR stand-in: a learning rate that learns, then one that cannot.

    eta 3: at a band the best ``int(n / 3) + 1`` trials go on (W&B's rule), so the one that
    cannot learn is the only one stopped, at its first epoch, beside one or more good ones."""
    command = [
        sys.executable,
        str(TRAIN),
        "-m",
        "hydra/sweeper=wandb",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"hydra.sweeper.storage={tmp_path / 'journal.log'}",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:val/acc,goal:maximize}",
        "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:3}",
        "optimizer.lr=choice(0.01,1e-7)",
        "model=mlp",
        f"trainer.max_epochs={MAX_EPOCHS}",
        *overrides,
    ]
    completed = subprocess.run(
        command, cwd=tmp_path, env=sweep_env(tmp_path), capture_output=True, text=True, timeout=600
    )
    if check:
        assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    summary = yaml.safe_load((tmp_path / "multirun" / "optimization_results.yaml").read_text())
    summary["output"] = completed.stdout + completed.stderr
    return summary


def epochs_trained(job_dir: Path) -> int:
    """Epochs the job trained; checks that its W&B run finished cleanly and says whether
    early termination stopped it."""
    logs = list(job_dir.glob("wandb/offline-run-*/logs/debug.log"))
    assert len(logs) == 1, f"one W&B run per job in {job_dir}"
    assert "got exitcode: 0" in logs[0].read_text(), "the W&B run finished cleanly"
    record = json.loads((job_dir / "epochs.json").read_text())
    assert record["stopped_early"] == (record["epochs"] < MAX_EPOCHS), "W&B summary says so"
    return int(record["epochs"])


def jobs_by_lr(tmp_path: Path) -> dict[float, list[Path]]:
    jobs: dict[float, list[Path]] = {}
    for job_dir in sorted((tmp_path / "multirun").iterdir()):
        if (job_dir / ".hydra").is_dir():
            overrides = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())
            lr = next(o for o in overrides if o.startswith("optimizer.lr="))
            jobs.setdefault(float(lr.split("=", 1)[1]), []).append(job_dir)
    return jobs


COUNTER = "+callbacks.epochs._target_=tests.support.epoch_counter.EpochCounter"


def test_callback_stops_a_bad_trial_in_process(tmp_path):
    summary = run_train_sweep(tmp_path, COUNTER)
    assert summary["trials"]["finished"] == 1
    assert summary["trials"]["stopped"] == 1
    assert summary["trials"]["failed"] == 0
    assert summary["best_params"]["optimizer.lr"] == 0.01
    jobs = jobs_by_lr(tmp_path)
    assert [epochs_trained(d) for d in jobs[0.01]] == [MAX_EPOCHS]
    assert [epochs_trained(d) for d in jobs[1e-7]] == [1]


def test_callback_stops_bad_trials_in_parallel_joblib_workers(tmp_path):
    # Batches of 2: the two good trials first (the same seed: equal values, both go on), then
    # the two bad ones, which meet the good ones' first-epoch results at the first band
    # whatever the workers' timing: of 3 or 4 values there, the best 2 go on.
    summary = run_train_sweep(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "+replica=a,b",
        COUNTER,
    )
    assert summary["trials"]["finished"] == 2
    assert summary["trials"]["stopped"] == 2
    jobs = jobs_by_lr(tmp_path)
    assert [epochs_trained(d) for d in jobs[0.01]] == [MAX_EPOCHS, MAX_EPOCHS]
    assert [epochs_trained(d) for d in jobs[1e-7]] == [1, 1]


def test_a_misspelt_metric_fails_the_first_trial_at_its_first_validation(tmp_path):
    summary = run_train_sweep(
        tmp_path, "hydra.sweeper.metric={name:val/acc_,goal:maximize}", COUNTER, check=False
    )
    assert summary["trials"]["failed"] == 1 and summary["trials"]["total"] == 1
    assert "Did you mean 'val/acc'?" in summary["output"]
    [job] = jobs_by_lr(tmp_path)[0.01]
    record = json.loads((job / "epochs.json").read_text())
    assert record["epochs"] == 0 and "MetricNotLoggedError" in record["failed"]


def test_an_epoch_level_training_metric_is_reported_too(tmp_path):
    # train/loss is logged at the end of the epoch, after its validation
    summary = run_train_sweep(
        tmp_path, "hydra.sweeper.metric={name:train/loss,goal:minimize}", COUNTER
    )
    assert summary["trials"]["stopped"] == 1 and summary["trials"]["finished"] == 1
    jobs = jobs_by_lr(tmp_path)
    assert [epochs_trained(d) for d in jobs[1e-7]] == [1]


def test_min_epochs_keeps_a_stopped_trial_training_and_the_record_says_where_it_stopped(tmp_path):
    summary = run_train_sweep(tmp_path, "+trainer.min_epochs=2", COUNTER)
    assert summary["trials"]["stopped"] == 1
    assert "trainer.min_epochs=2 keeps it training" in summary["output"]
    [job] = jobs_by_lr(tmp_path)[1e-7]
    assert epochs_trained(job) == 2
    assert json.loads((job / "epochs.json").read_text())["stopped_at_step"] == 2


def test_a_trial_that_reaches_max_epochs_at_a_bracket_is_finished_not_stopped(tmp_path):
    summary = run_train_sweep(tmp_path, "trainer.max_epochs=1", COUNTER)
    assert summary["trials"]["finished"] == 2 and summary["trials"]["stopped"] == 0
