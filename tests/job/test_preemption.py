"""The job's side of preemption, without a cluster: the trial's checkpoint path, W&B resume on
a restart, and the signal guard that saves before submitit's handler and then leaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from hydra_wandb_sweeper.engine.base import TRIAL_ENV
from hydra_wandb_sweeper.job import preemption


def test_outside_a_sweep_there_is_no_checkpoint_and_no_restart(monkeypatch):
    monkeypatch.delenv(TRIAL_ENV, raising=False)
    monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    assert preemption.checkpoint_path() is None
    assert preemption.resume_checkpoint() is None
    assert not preemption.is_restart()
    with preemption.restart_environment():
        assert "WANDB_RESUME" not in os.environ


def test_a_requeued_job_resumes_its_wandb_run_and_restores_the_environment(monkeypatch):
    monkeypatch.delenv("WANDB_RESUME", raising=False)
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    with preemption.restart_environment():
        assert os.environ["WANDB_RESUME"] == "allow"
    assert "WANDB_RESUME" not in os.environ
    monkeypatch.setenv("WANDB_RESUME", "never")  # the user's own choice wins
    with preemption.restart_environment():
        assert os.environ["WANDB_RESUME"] == "never"


def test_a_slurm_job_forgets_the_submitters_wandb_service(monkeypatch):
    monkeypatch.setenv("WANDB_SERVICE", "3-1234-unix-/tmp/wandb-1234/socket")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    preemption.drop_submitters_wandb_service()
    assert "WANDB_SERVICE" in os.environ  # a local worker shares its parent's service
    monkeypatch.setenv("SLURM_JOB_ID", "4711")
    preemption.drop_submitters_wandb_service()
    assert "WANDB_SERVICE" not in os.environ


GUARDED_TASK = textwrap.dedent(
    """
    import json, os, signal, sys
    from hydra_wandb_sweeper.job.preemption import on_preemption, preemption_guard

    events = []
    def write():
        with open(sys.argv[1], "w") as out:
            json.dump(events, out)

    def submitits_handler(signum, frame):  # requeues, then exits as submitit does
        events.append("requeued")
        write()
        sys.exit(-1)

    signal.signal(signal.SIGUSR2, submitits_handler)
    with preemption_guard():
        take_back = on_preemption(lambda: events.append("checkpoint saved"))
        try:
            os.kill(os.getpid(), signal.SIGUSR2)
        finally:
            events.append("task cleanup ran")  # e.g. wandb.finish() on a dead service
            write()
    """
)


def test_the_guard_saves_before_submitits_handler_then_leaves_without_the_tasks_cleanup(
    tmp_path,
):
    events = tmp_path / "events.json"
    done = subprocess.run(
        [sys.executable, "-c", GUARDED_TASK, str(events)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 255, done.stderr  # submitit's sys.exit(-1)
    assert json.loads(events.read_text()) == ["checkpoint saved", "requeued"]


def test_without_a_handler_from_submitit_the_guard_changes_nothing():
    before = signal.getsignal(signal.SIGUSR2)
    with preemption.preemption_guard():
        assert signal.getsignal(signal.SIGUSR2) is before
