"""A Lightning callback that applies the sweep's early termination to a ``Trainer``.

After each validation run it reports the sweep metric (``metric.name``, read from
``trainer.callback_metrics``) to the engine, and when the engine stops the trial it sets
``trainer.should_stop``: the epoch ends cleanly, checkpoints and loggers close, and the task
returns normally with the metric it reached. Outside a sweep it does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from hydra_wandb_sweeper.job import reporting

log = logging.getLogger(__name__)


class SweepEarlyTermination(Callback):
    """Stops a trial gracefully when the sweep's hyperband says so.

    Args:
        monitor: metric to report; default: the sweep's ``metric.name``.
    """

    def __init__(self, monitor: str | None = None) -> None:
        self.monitor = monitor
        self._reported = 0
        self._warned = False

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
        stop = False
        if trainer.is_global_zero:
            stop = self._report_and_decide(trainer)
        # every rank must leave the loop together
        if trainer.strategy.broadcast(stop, src=0):
            trainer.should_stop = True

    def _report_and_decide(self, trainer: Trainer) -> bool:
        trial = reporting.current_trial()
        if trial is None:
            return False
        name = self.monitor or trial.metric
        value = trainer.callback_metrics.get(name) if name else None
        if value is None:
            if not self._warned:
                available = ", ".join(sorted(trainer.callback_metrics)) or "none yet"
                log.warning(f"Early termination: metric {name!r} not logged (logged: {available})")
                self._warned = True
            return False
        self._reported += 1
        reporting.report(float(value), step=self._reported)
        if reporting.should_stop():
            log.info(f"Early termination stops this trial after {self._reported} validation runs")
            return True
        return False
