"""Preemption: SLURM signals a Lightning trial's job (``scancel --signal=USR2``), the trial
saves its checkpoint, submitit requeues the job, and the same trial resumes from it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support.slurm import hydra_job_slurm_id, wait_until
from tests.support.sweeper_helpers import background_sweep, results, sweep_env

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
MAX_EPOCHS = 4
PAUSE_AFTER = 2  # epochs the trial validates before SLURM signals its job
TRAIN_BATCHES = 4  # optimizer steps per epoch


@pytest.fixture
def submitters_wandb_service():
    """A W&B service in the submitting process, whose address (``WANDB_SERVICE``) sbatch
    passes on to the jobs, as when the sweep runs from a process that used W&B."""
    import wandb

    wandb.setup()
    assert os.environ.get("WANDB_SERVICE")
    try:
        yield
    finally:
        wandb.teardown()


def probe(job_dir: Path) -> list[dict]:
    path = job_dir / "probe.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("in_batch", [None, 2], ids=["at-validation", "mid-epoch"])
def test_a_preempted_trial_resumes_from_its_checkpoint_as_the_same_trial(
    slurm, tmp_path, in_batch, submitters_wandb_service
):
    env = sweep_env(tmp_path)
    # the job imports the test's probe callback from this checkout
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        str(REPO / "train.py"),
        "-m",
        "hydra/sweeper=wandb",
        "hydra/launcher=submitit_slurm",
        # far from the time limit: submitit takes the signal for a preemption and requeues
        # (it counts a signal within 10 min of the limit as a timeout; max_num_timeout=0)
        "hydra.launcher.timeout_min=60",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"hydra.sweeper.storage={tmp_path / 'journal.log'}",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:val/acc,goal:maximize}",
        "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}",
        "optimizer.lr=choice(0.01)",
        "model=mlp",
        f"trainer.max_epochs={MAX_EPOCHS}",
        f"+trainer.limit_train_batches={TRAIN_BATCHES}",
        "+trainer.limit_val_batches=2",
        "+callbacks.probe._target_=tests.support.preemption_probe.PreemptionProbe",
        f"+callbacks.probe.pause_after={PAUSE_AFTER}",
        f"+callbacks.probe.pause_in_batch={'null' if in_batch is None else in_batch}",
    ]
    signalled_at = PAUSE_AFTER * TRAIN_BATCHES + (in_batch or 0)  # optimizer steps done
    job_dir = tmp_path / "multirun" / "0"
    with background_sweep(tmp_path, command, env) as sweep:
        wait_until(
            lambda: any(e["event"] == "waiting_for_signal" for e in probe(job_dir)),
            240,
            "the trial did not reach its pause",
            interval=0.2,
        )
        job_id = hydra_job_slurm_id(job_dir)
        slurm.run("scancel", "--signal=USR2", job_id)
        output, _ = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, output[-5000:]

    events = probe(job_dir)
    starts = [e for e in events if e["event"] == "train_start"]
    validated = [e["epoch"] for e in events if e["event"] == "validated"]
    ends = [(e["epoch"], e["global_step"]) for e in events if e["event"] == "fit_end"]
    assert "no_signal_came" not in [e["event"] for e in events], events
    # two runs of one SLURM job: the second resumed where the first was signalled
    assert [s["restarts"] for s in starts] == [0, 1], starts
    assert starts[0]["slurm_job_id"] == starts[1]["slurm_job_id"] == job_id
    assert [s["global_step"] for s in starts] == [0, signalled_at], starts
    # every epoch validated once, and the trial ends where it would have without preemption:
    # max_epochs epochs of TRAIN_BATCHES optimizer steps
    assert validated == list(range(MAX_EPOCHS)), validated
    assert ends == [(MAX_EPOCHS, MAX_EPOCHS * TRAIN_BATCHES)]
    print(
        f"preemption ({'mid-epoch' if in_batch else 'at validation'}): signalled at step "
        f"{signalled_at}, resumed at step {starts[1]['global_step']}, validated epochs "
        f"{validated}, ended at epoch {ends[0][0]}, step {ends[0][1]} (max_epochs={MAX_EPOCHS})"
    )
    # the same W&B run, resumed, and the same trial of the sweep
    assert starts[0]["wandb_run_id"] == starts[1]["wandb_run_id"]
    assert [s["wandb_resume"] for s in starts] == [None, "allow"]
    runs = sorted(p.name for p in (job_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and {r.rsplit("-", 1)[1] for r in runs} == {starts[0]["wandb_run_id"]}
    assert not list((job_dir / "preemption").glob("*.ckpt")), "a finished trial keeps none"

    summary = results(tmp_path)
    assert summary["trials"]["total"] == 1
    assert summary["trials"]["finished"] == 1
    # hyperband saw each epoch once: steps 1..MAX_EPOCHS, none repeated, none missing
    assert reported_steps(tmp_path, summary["sweep_id"]) == list(range(1, MAX_EPOCHS + 1))


def reported_steps(tmp_path: Path, sweep_id: str) -> list[int]:
    import optuna

    from hydra_wandb_sweeper.engine.local.storage import open_storage

    storage = open_storage(str(tmp_path / "journal.log"))
    (trial,) = optuna.load_study(study_name=sweep_id, storage=storage).trials
    return sorted(trial.intermediate_values)
