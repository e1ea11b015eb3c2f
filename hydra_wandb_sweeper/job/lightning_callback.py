"""A Lightning callback that applies the sweep's early termination to a ``Trainer``.

After each validation run it reports the sweep metric (``metric.name``, read from
``trainer.callback_metrics``) to the engine, and when the engine stops the trial it sets
``trainer.should_stop``: the epoch ends cleanly, checkpoints and loggers close, and the task
returns normally with the metric it reached. Outside a sweep it does nothing.

What it records is what happened: a trial stopped at its last epoch (``max_epochs``) is
finished, not stopped; ``trainer.min_epochs`` is respected (the trial trains on to it, with a
warning, and is recorded as stopped there); with early termination, a ``metric.name`` the
trainer does not log fails the trial at its first validation, naming the nearest logged
metric (without it, that is a warning: the task may return the metric by other means).
"""

from __future__ import annotations

import logging
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from hydra_wandb_sweeper.job import reporting
from hydra_wandb_sweeper.searchspace.distributions import nearest

log = logging.getLogger(__name__)

_GO, _STOP = "go", "stop"


class MetricNotLoggedError(KeyError):
    """The sweep's metric is not among the metrics the trainer logs."""

    def __str__(self) -> str:
        return str(self.args[0])


class SweepEarlyTermination(Callback):
    """Stops a trial gracefully when the sweep's hyperband says so.

    Args:
        monitor: metric to report; default: the sweep's ``metric.name``.
    """

    def __init__(self, monitor: str | None = None) -> None:
        self.monitor = monitor
        self._reported = 0
        self._validated_epoch: int | None = None
        self._reported_epoch: int | None = None
        self._warned_min_epochs = False
        self._warned_not_logged = False

    def state_dict(self) -> dict[str, Any]:
        # in Lightning's checkpoint: a trial resumed after a preemption reports its next
        # validation as the next step, so hyperband counts every bracket once
        return {"reported": self._reported}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._reported = int(state_dict.get("reported", 0))

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # only while fitting: a later trainer.validate() must not count as another epoch
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        self._validated_epoch = trainer.current_epoch
        self._decide(trainer, must_find=False)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # Epoch-level training metrics (train/loss) appear only after the epoch's validation:
        # report them now; a metric missing here as well is not logged at all.
        epoch = trainer.current_epoch
        if self._validated_epoch == epoch and self._reported_epoch != epoch:
            self._decide(trainer, must_find=True)

    def _decide(self, trainer: Trainer, must_find: bool) -> None:
        decision = self._report_and_decide(trainer, must_find) if trainer.is_global_zero else _GO
        # every rank leaves the loop (or fails) together
        decision = trainer.strategy.broadcast(decision, src=0)
        if decision == _STOP:
            trainer.should_stop = True
        elif decision != _GO:
            raise MetricNotLoggedError(decision)

    def _report_and_decide(self, trainer: Trainer, must_find: bool) -> str:
        trial = reporting.current_trial()
        name = self.monitor or (trial.metric if trial is not None else None)
        if trial is None or not name:
            return _GO
        value = trainer.callback_metrics.get(name)
        if value is None:
            if not must_find:
                return _GO
            key = "SweepEarlyTermination.monitor" if self.monitor else "hydra.sweeper.metric.name"
            problem = _not_logged(key, name, sorted(trainer.callback_metrics))
            if trial.can_stop:  # early termination cannot work: fail before a full run
                return problem
            if not self._warned_not_logged:  # the task may still return it
                self._warned_not_logged = True
                log.warning(problem)
            return _GO
        self._reported += 1
        self._reported_epoch = trainer.current_epoch
        reporting.report(float(value), step=self._reported)
        if not trial.pruned() or _last_epoch(trainer):
            return _GO  # at its last epoch a trial ends anyway: finished, not stopped
        min_epochs = trainer.min_epochs or 0
        if trainer.current_epoch + 1 < min_epochs:
            if not self._warned_min_epochs:
                self._warned_min_epochs = True
                log.warning(
                    f"Early termination stops this trial after {self._reported} validation runs, "
                    f"but trainer.min_epochs={min_epochs} keeps it training until then"
                )
            return _GO
        trial.record_stop()
        reporting.note_in_wandb_summary(trial)
        log.debug(f"Early termination stops this trial after {self._reported} validation runs")
        return _STOP


def _last_epoch(trainer: Trainer) -> bool:
    max_epochs = trainer.max_epochs
    return max_epochs is not None and max_epochs > 0 and trainer.current_epoch + 1 >= max_epochs


def _not_logged(key: str, name: str, logged: list[str]) -> str:
    return (
        f"{key}={name!r} is not logged by this trainer.{nearest(name, logged)}"
        f" Logged: {', '.join(logged) or 'nothing'}"
    )
