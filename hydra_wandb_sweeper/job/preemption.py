"""A trial that SLURM preempts or requeues runs again as the same trial, from its checkpoint.

With ``hydra/launcher=submitit_slurm``, SLURM signals a job (``USR2``) before its time limit
or when it preempts it; submitit's handler then requeues the job, which runs the same Hydra
job again: same overrides, same job folder, same W&B run id, same trial of the engine. This
module is that job's side: where the trial keeps its checkpoint (in its own job folder, named
by its W&B run), the savers that run on the signal before submitit requeues the job, whether
this run of the job is a restart, and the W&B setting that makes the restarted job resume its
run instead of starting it over.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from hydra_wandb_sweeper.engine.base import TRIAL_ENV

CHECKPOINT_FOLDER = "preemption"
# the signal submitit asks SLURM for (sbatch --signal=USR2@signal_delay_s)
PREEMPTION_SIGNAL = signal.SIGUSR2

_savers: list[Callable[[], None]] = []


def checkpoint_path() -> Path | None:
    """Where this trial saves its checkpoint when signalled; None outside a sweep's trial."""
    run_id = os.environ.get("WANDB_RUN_ID")
    if not os.environ.get(TRIAL_ENV) or not run_id:
        return None
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    return output_dir / CHECKPOINT_FOLDER / f"{run_id}.ckpt"


def resume_checkpoint() -> str | None:
    """The checkpoint a requeued trial resumes from, for ``trainer.fit(..., ckpt_path=)``;
    None when the trial starts afresh (or outside a sweep)."""
    path = checkpoint_path()
    return str(path) if path is not None and path.is_file() else None


def drop_submitters_wandb_service() -> None:
    """In a SLURM job, forget the W&B service of the process that submitted it.

    sbatch passes the submitter's environment on to the job, ``WANDB_SERVICE`` too: the
    address of a W&B service in another process, maybe on another machine, and one that
    still holds the run of a job SLURM requeued (a resumed run is then refused as "in use").
    Without it, the trial's own W&B starts a service of its own.
    """
    if os.environ.get("SLURM_JOB_ID"):
        os.environ.pop("WANDB_SERVICE", None)


def is_restart() -> bool:
    """True when this job ran before: SLURM requeued it, or it left a checkpoint."""
    try:
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0"))
    except ValueError:
        restarts = 0
    return restarts > 0 or resume_checkpoint() is not None


@contextlib.contextmanager
def restart_environment() -> Iterator[None]:
    """A restarted trial resumes its W&B run (``WANDB_RESUME=allow``): its history goes on
    from the step it reached instead of a second run with the same id."""
    if "WANDB_RESUME" in os.environ or not is_restart():
        yield
        return
    os.environ["WANDB_RESUME"] = "allow"
    try:
        yield
    finally:
        os.environ.pop("WANDB_RESUME", None)


def on_preemption(save: Callable[[], None]) -> Callable[[], None]:
    """Run ``save`` when SLURM signals this trial's job, before the job is requeued.

    Returns the function that takes ``save`` back (call it once the trial cannot be resumed
    any more, e.g. when training ended)."""
    _savers.append(save)

    def take_back() -> None:
        if save in _savers:
            _savers.remove(save)

    return take_back


@contextlib.contextmanager
def preemption_guard() -> Iterator[None]:
    """While the trial's task runs: on SLURM's signal, run the savers, then submitit's handler.

    When submitit requeued the job its handler raises ``SystemExit``; the job then leaves at
    once. Left to unwind, the exit would run the task's own cleanup, and SLURM signals every
    process of the job, W&B's service too: a ``wandb.finish()`` failing on the dead service
    would turn the requeued trial into a failed one. Without a handler from submitit (no SLURM)
    nothing changes.
    """
    previous = signal.getsignal(PREEMPTION_SIGNAL)
    if not callable(previous) or threading.current_thread() is not threading.main_thread():
        yield
        return

    def checkpoint_then_requeue(signum: int, frame: FrameType | None) -> None:
        for save in list(_savers):
            save()
        try:
            previous(signum, frame)
        except SystemExit as requeued:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(requeued.code if isinstance(requeued.code, int) else 1)

    signal.signal(PREEMPTION_SIGNAL, checkpoint_then_requeue)
    try:
        yield
    finally:
        signal.signal(PREEMPTION_SIGNAL, previous)
