"""Sweeps whose trials are SLURM jobs (``hydra/launcher=submitit_slurm``) on the fixture cluster."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.support.slurm import hydra_job_slurm_id, wait_until
from tests.support.sweeper_helpers import (
    background_sweep,
    results,
    run_sweep,
    sweep_command,
    sweep_env,
    trial_records,
)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SLURM = ("hydra/launcher=submitit_slurm", "hydra.launcher.timeout_min=5")
CURVES = Path(__file__).resolve().parents[1] / "support" / "apps" / "curves" / "app.py"


def test_grid_sweep_runs_each_trial_as_a_slurm_job_n_jobs_at_a_time(slurm, tmp_path):
    began = time.monotonic()
    run_sweep(
        tmp_path,
        *SLURM,
        "hydra.launcher.gpus_per_node=1",  # the fixture's node has two stand-in GPUs
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.n_jobs=2",
        "x=choice(0,1,2,3)",
        "sleep=2",
    )
    took = time.monotonic() - began
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 4
    assert summary["best_params"] == {"x": 1}
    records = trial_records(tmp_path)
    assert len({record["slurm_job_id"] for record in records}) == 4, "one SLURM job per trial"
    # n_jobs=2: the two trials of each batch ran at the same time
    by_trial = sorted(records, key=lambda record: record["config"]["x"])
    for first, second in (by_trial[0:2], by_trial[2:4]):
        assert max(first["started"], second["started"]) < min(first["ended"], second["ended"])
        # one GPU each, not the same one
        devices = {first["cuda_visible_devices"], second["cuda_visible_devices"]}
        assert devices == {"0", "1"}, devices
    print(f"4-trial grid sweep on SLURM, 2 at a time: {took:.1f} s")


def test_bayes_sweep_on_slurm_records_every_trial(slurm, tmp_path):
    run_sweep(
        tmp_path,
        *SLURM,
        "hydra.launcher.gres=gpu:1",
        "hydra.sweeper.method=bayes",
        "hydra.sweeper.bayes_startup_trials=2",
        "hydra.sweeper.seed=0",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.count=4",
        "hydra.sweeper.n_jobs=2",
        "x=interval(-2.0,4.0)",
        "y=interval(-4.0,0.0)",
    )
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 4
    records = trial_records(tmp_path)
    assert all(record["slurm_job_id"] for record in records)
    assert all(record["cuda_visible_devices"] in ("0", "1") for record in records)
    assert summary["best_value"] == min(
        (r["config"]["x"] - 1) ** 2 + (r["config"]["y"] + 2) ** 2 for r in records
    )


def test_hyperband_stops_trials_running_as_slurm_jobs(slurm, tmp_path):
    # Two good curves first, then two bad ones, which meet the good ones' results at every
    # bracket whatever the jobs' timing.
    command = [
        *sweep_command(tmp_path, *SLURM),
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:score,goal:maximize}",
        "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}",
        "hydra.sweeper.n_jobs=2",
        "quality=choice(0.9,0.1)",
        "+replica=a,b",
    ]
    command[1] = str(CURVES)
    completed = subprocess.run(
        command, cwd=tmp_path, env=sweep_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 2
    assert summary["trials"]["stopped"] == 2
    curves = {}
    for path in (tmp_path / "multirun").glob("*/curve.json"):
        record = yaml.safe_load(path.read_text())
        curves.setdefault(record["quality"], []).append(record["epochs_run"])
    assert curves[0.9] == [8, 8]
    assert max(curves[0.1]) < 8


def test_a_cancelled_slurm_job_is_a_failed_trial_with_slurms_reason(slurm, tmp_path):
    # Two trials in flight; the long one's job is cancelled, the short one finishes.
    command = sweep_command(
        tmp_path,
        *SLURM,
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.max_failure_rate=0.5",
        "sleep=choice(120,3)",
    )
    with background_sweep(tmp_path, command) as sweep:
        long_job = long_trial_job_id(tmp_path / "multirun", sleep=120)
        slurm.run("scancel", long_job)
        output, _ = sweep.communicate(timeout=180)
    assert sweep.returncode == 0, output[-4000:]
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 1
    assert summary["trials"]["failed"] == 1
    errors = trial_errors(tmp_path, summary["sweep_id"])
    assert len(errors) == 1
    assert errors[0].startswith(f"SlurmJobEnded: SLURM job {long_job} ended CANCELLED"), errors


def trial_errors(tmp_path: Path, sweep_id: str) -> list[str]:
    """The errors the engine recorded for the sweep's failed trials."""
    import optuna

    from hydra_wandb_sweeper.engine.local.storage import open_storage

    study = optuna.load_study(
        study_name=sweep_id, storage=open_storage(str(tmp_path / "journal.log"))
    )
    return [trial.user_attrs["error"] for trial in study.trials if "error" in trial.user_attrs]


def long_trial_job_id(sweep_dir: Path, sleep: int) -> str:
    """The SLURM job id of the running trial whose overrides hold ``sleep=<sleep>``."""
    found: list[Path] = []

    def started() -> bool:
        # Hydra writes hydra.yaml, then overrides.yaml, when the job starts
        for overrides_yaml in sweep_dir.glob("*/.hydra/overrides.yaml"):
            if f"sleep={sleep}" in (yaml.safe_load(overrides_yaml.read_text()) or []):
                found.append(overrides_yaml.parent.parent)
                return True
        return False

    wait_until(started, 120, f"the trial with sleep={sleep} did not start")
    return hydra_job_slurm_id(found[0])


def test_a_trial_at_its_time_limit_fails_saying_so(slurm, tmp_path):
    # timeout_min=1 with the signal 50 s ahead: SLURM signals the job ~10 s in; submitit
    # counts it as a timeout and, with max_num_timeout=0, does not requeue it.
    completed = run_sweep(
        tmp_path,
        "hydra/launcher=submitit_slurm",
        "hydra.launcher.timeout_min=1",
        "hydra.launcher.signal_delay_s=50",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.max_failure_rate=1.0",
        "x=choice(0)",
        "sleep=120",
        timeout=240,
        check=False,  # the sweep's only trial failed: it exits non-zero, saying why
    )
    assert "SLURM signalled the job near its time limit" in completed.stderr
    summary = results(tmp_path)
    assert summary["trials"]["failed"] == 1, completed.stdout[-3000:]
    (error,) = trial_errors(tmp_path, summary["sweep_id"])
    assert error.startswith("SlurmJobEnded: SLURM signalled the job near its time limit"), error
    assert "hydra.launcher.max_num_timeout" in error


def test_an_interrupted_sweep_cancels_the_slurm_jobs_of_its_trials_in_flight(slurm, tmp_path):
    command = sweep_command(
        tmp_path,
        *SLURM,
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.n_jobs=2",
        "x=choice(0,1)",
        "sleep=120",
    )
    with background_sweep(tmp_path, command) as sweep:
        wait_until(
            lambda: len(list((tmp_path / "multirun").glob("*/.hydra/overrides.yaml"))) == 2,
            120,
            "the two trials did not start",
        )
        assert len(slurm.job_ids()) == 2
        sweep.send_signal(signal.SIGTERM)  # as SLURM or a user's kill would
        output, _ = sweep.communicate(timeout=120)
    assert sweep.returncode != 0
    assert "Cancelling the SLURM jobs of the trials in flight" in output, output[-3000:]
    wait_until(lambda: not slurm.job_ids(), 60, "the trials' SLURM jobs were not cancelled")
    summary = results(tmp_path)
    assert summary["trials"]["failed"] == 2


def test_a_trial_over_its_memory_limit_fails_with_slurms_words(slurm, tmp_path):
    # 50 MB: less than Python with Hydra needs; SLURM kills the job's step within a second
    completed = run_sweep(
        tmp_path,
        *SLURM,
        "+hydra.launcher.additional_parameters.mem=50M",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.max_failure_rate=1.0",
        "x=choice(0)",
        "sleep=60",
        check=False,  # the sweep's only trial failed: it exits non-zero, saying why
    )
    assert "exceeded memory limit" in completed.stderr
    summary = results(tmp_path)
    assert summary["trials"]["failed"] == 1
    (error,) = trial_errors(tmp_path, summary["sweep_id"])
    assert error.startswith("SlurmJobEnded: SLURM job"), error
    assert "exceeded memory limit" in error, error


def test_a_node_failure_is_a_failed_trial_and_slurms_requeue_is_cancelled(slurm, tmp_path):
    command = sweep_command(
        tmp_path,
        *SLURM,
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.max_failure_rate=1.0",
        "x=choice(0)",
        "sleep=60",
    )
    with background_sweep(tmp_path, command) as sweep:
        job_id = long_trial_job_id(tmp_path / "multirun", sleep=60)
        # the node goes down under the job; it comes back by itself (ReturnToService=2)
        slurm.run("scontrol", "update", f"nodename={slurm.hostname}", "state=down", "reason=test")
        output, _ = sweep.communicate(timeout=180)
    (error,) = trial_errors(tmp_path, results(tmp_path)["sweep_id"])
    assert error.startswith(f"SlurmJobEnded: SLURM job {job_id} ended NODE_FAIL"), error
    assert f"SLURM requeued job {job_id} after NODE_FAIL; cancelling it" in output
    assert job_id not in slurm.job_ids(), "the trial does not run again unseen"
