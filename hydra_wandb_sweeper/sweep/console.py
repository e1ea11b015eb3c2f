"""What the sweep prints while it runs: one line per trial, the launchers' chatter at debug."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hydra_wandb_sweeper.engine.base import TrialRecord, TrialState
from hydra_wandb_sweeper.upstream_private import BASIC_LAUNCHER_LOGGER

# The loggers Hydra's launchers write their per-batch lines with ("Launching 1 jobs locally",
# "#0 : overrides"): the trial lines below say the same, by trial number.
LAUNCHER_LOGGERS = (
    BASIC_LAUNCHER_LOGGER,
    "hydra_plugins.hydra_joblib_launcher._core",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher",
)


class _ToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


@contextlib.contextmanager
def launcher_lines_at_debug() -> Iterator[None]:
    demote = _ToDebug()
    loggers = [logging.getLogger(name) for name in LAUNCHER_LOGGERS]
    for logger in loggers:
        logger.addFilter(demote)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(demote)


def trial_line(record: TrialRecord, metric_name: str | None) -> str:
    """``Trial 3 stopped  val/acc=0.6684  model=cnn_bilstm optimizer.lr=0.00625 (run zugual6h)``."""
    parts = [f"Trial {record.number} {record.state.value}"]
    if record.value is not None:
        parts.append(f"{metric_name or 'value'}={record.value:.6g}")
    parts.append(values_text(record.params))
    line = "  ".join(part for part in parts if part) + f"  (run {record.run_id})"
    if record.state is TrialState.FAILED and record.error:
        line += f": {printable(record.error.splitlines()[0])}"
    return line


def values_text(params: Mapping[str, Any]) -> str:
    return " ".join(f"{printable(str(key))}={cell(value)}" for key, value in params.items())


def cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else printable(str(value))


# C0 and C1 control characters, DEL: ESC starts a terminal's escape codes
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with its control characters written as escapes (``\\x1b``, ``\\n``): a value
    or name holding a terminal escape code must not recolour, move the cursor of or retitle
    the terminal it is shown in."""
    return CONTROL_CHARACTERS.sub(lambda found: repr(found.group())[1:-1], text)


def nothing_reported(number: int) -> str:
    return (
        f"early_terminate is set, but trial {number} reported no metric, so no trial can be "
        "stopped: add the callback hydra_wandb_sweeper.lightning_callback.SweepEarlyTermination "
        "to the Trainer, or call hydra_wandb_sweeper.report(value, step) in the task"
    )
