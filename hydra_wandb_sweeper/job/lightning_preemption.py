"""A Lightning callback that saves the trial's checkpoint when SLURM preempts its job.

SLURM signals a job (``USR2`` with ``hydra/launcher=submitit_slurm``) before its time limit
or when it preempts it, and submitit requeues the job. While a trial's trainer fits, this
callback saves Lightning's full checkpoint (weights, optimizer, loops, callbacks' states)
into the trial's job folder on that signal, before the requeue. When the job runs again,
``trainer.fit(..., ckpt_path=resume_checkpoint())`` resumes from it: the same trial goes on
from the step it reached. A trial that finishes removes its checkpoint. Outside a sweep it
does nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback

from hydra_wandb_sweeper.job.preemption import checkpoint_path, on_preemption

log = logging.getLogger(__name__)


class SweepPreemption(Callback):
    """Checkpoints a sweep trial when SLURM signals its job, before submitit requeues it."""

    def __init__(self) -> None:
        self._take_back: Callable[[], None] | None = None
        self._path: Path | None = None

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._path = checkpoint_path()
        if self._path is not None:
            path = self._path
            self._take_back = on_preemption(lambda: _save(trainer, path))

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._stop_watching()
        if self._path is not None and trainer.is_global_zero:
            # the trial finished: a later run of this job must not resume from it
            self._path.unlink(missing_ok=True)

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        self._stop_watching()

    def _stop_watching(self) -> None:
        if self._take_back is not None:
            self._take_back()
        self._take_back = None


def _save(trainer: Trainer, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    trainer.save_checkpoint(partial)
    if trainer.is_global_zero:
        os.replace(partial, path)  # never a torn checkpoint to resume from
        log.warning(
            f"SLURM signalled this job: checkpoint saved at epoch {trainer.current_epoch}, "
            f"step {trainer.global_step}, before the requeue"
        )
