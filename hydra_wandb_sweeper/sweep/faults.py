"""How a sweep ends when something goes wrong: a sentence and an exit code, never a traceback.

Exit codes (README, "Resume"): 0 the sweep ended; 1 a configuration error before any trial,
or the failure budget (``max_failure_rate``) exceeded; 74 the storage failed (disk full,
read-only, locked, unreachable); 130 Ctrl+C (SIGINT); 143 SIGTERM. After each of them the
finished trials are kept and the printed join command resumes the sweep.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
from collections.abc import Callable, Iterator

from hydra_wandb_sweeper.errors import SweepStorageError
from hydra_wandb_sweeper.interrupts import Interrupted, exit_code, received

log = logging.getLogger(__name__)
EXIT_STORAGE = 74  # EX_IOERR in sysexits.h
EXIT_SIGINT = 130
# The failure budget is judged over at least this many trials, so that max_failure_rate=0.5
# does not stop a sweep at its first failure (1 of 1); max_failure_rate=0 still does.
MIN_TRIALS_FOR_FAILURE_RATE = 10


def failure_budget_exceeded(failed: int, ended: int, max_failure_rate: float) -> bool:
    """More than ``max_failure_rate`` of this process's trials failed, counting at least
    :data:`MIN_TRIALS_FOR_FAILURE_RATE` trials."""
    return failed > max_failure_rate * max(ended, MIN_TRIALS_FOR_FAILURE_RATE)


def describe_launcher_failure(error: BaseException) -> str:
    """What a launcher's failure means for its trials, in a few words."""
    text = str(error)
    codes = re.search(r"exit codes? of the workers? (?:are|is) \{([^}]*)\}", text)
    if codes:
        return f"its worker process died (exit code {codes.group(1)})"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"the launcher failed: {type(error).__name__}" + (f": {first}" if first else "")


@contextlib.contextmanager
def ending_faults() -> Iterator[None]:
    """Interrupts and storage failures end the process with their exit code, no traceback.

    After a SIGINT or SIGTERM the exit code is the signal's whatever the task made of it:
    Lightning catches the KeyboardInterrupt and calls ``sys.exit(1)``, another task may
    raise its own error while it stops."""
    try:
        yield
    except Interrupted as interrupted:
        raise SystemExit(interrupted.exit_code) from None
    except SweepStorageError as error:
        log.error(str(error))
        raise SystemExit(EXIT_STORAGE) from None
    except BaseException as error:
        signum = received()
        if signum is not None:
            raise SystemExit(exit_code(signum)) from None
        if isinstance(error, KeyboardInterrupt):
            raise SystemExit(EXIT_SIGINT) from None
        raise


def describe_interruption(interruption: BaseException) -> str:
    """The signal that interrupted the sweep, by name, even when the task turned it into
    ``sys.exit(1)``; else the exception's own words."""
    signum = received()
    if signum is not None:
        return signal.Signals(signum).name
    if isinstance(interruption, SweepStorageError):
        return "the sweep's storage failed"
    return str(interruption) or "Ctrl+C"


def report_despite_faults(report: Callable[[], None]) -> None:
    """Write the results if the storage still answers; one line if it does not."""
    try:
        report()
    except (SweepStorageError, OSError) as error:
        cause = "the storage failed" if isinstance(error, SweepStorageError) else str(error)
        log.error(f"The results were not written: {cause}")
