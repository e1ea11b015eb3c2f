"""Ctrl+C and SIGTERM, held back while the sweep's storage is being written.

A signal that lands inside a storage write (a journal ``fsync``, a claim, the record of a
finished trial) must not cut it in half. While :func:`interrupts_as_exceptions` is active,
SIGINT and SIGTERM raise :class:`Interrupted` in the main thread, except inside
:func:`deferred_interrupts`, where the signal is noted and raised when the outermost
deferred block ends, after its write is complete. Both belong to no layer: the storage
defers, the sweep loop installs the handlers.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

_depth = 0  # deferred blocks open in the main thread
_pending: list[int] = []


class Interrupted(KeyboardInterrupt):
    """The sweep was interrupted by ``signum`` (SIGINT: Ctrl+C, SIGTERM: ``kill``, preemption)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # what a shell reports for a process ended by this signal


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block (and every block around it) has ended."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run only in the main thread: nothing to hold here
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending:
            signum = _pending[0]
            _pending.clear()
            raise Interrupted(signum)


def _on_signal(signum: int, frame: Any) -> None:
    if _depth > 0:
        _pending.append(signum)
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` (deferred around storage writes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
