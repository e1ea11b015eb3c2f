"""A trial's time limit (``hydra.sweeper.trial_timeout_seconds``): a task that hangs ends as a
failed trial whose error names the limit, and the sweep goes on.

Every launcher runs the task in its process's main thread (the sweeper's with the basic
launcher, a worker's with joblib or submitit), so the limit is a real-time timer whose
signal raises :class:`TrialTimeLimit` there, even in the middle of a ``time.sleep`` or a
blocking read. It is an ``Exception``, not a ``KeyboardInterrupt``: Lightning re-raises it
instead of turning it into ``sys.exit(1)``. The timer and the previous SIGALRM handler are
restored when the task ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class TrialTimeLimit(Exception):
    """The task ran longer than its trial's time limit."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TrialTimeLimit` in the task after ``seconds`` (None: no limit)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise TrialTimeLimit(
            f"the trial ran longer than hydra.sweeper.trial_timeout_seconds={seconds:g}"
        )

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
