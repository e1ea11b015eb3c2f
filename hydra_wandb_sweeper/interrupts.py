"""Ctrl+C and SIGTERM, held back while the sweep's storage is being written.

A signal that lands inside a storage write (a journal ``fsync``, a claim, the record of a
finished trial) must not cut it in half. While :func:`interrupts_as_exceptions` is active,
SIGINT and SIGTERM raise :class:`Interrupted` in the main thread, except inside
:func:`deferred_interrupts`, where the signal is noted and raised when the outermost
deferred block ends, after its write is complete.

Waiting is not writing: a deferred block that waits for another process (a lock it holds,
a database it is writing) marks the wait with :func:`interruptible_wait`, and a signal ends
that wait at once, as long as the block has written nothing yet (:func:`note_written`).
Otherwise Ctrl+C would wait for a lock that another process may hold for minutes.

Whatever the task does with the interrupt (Lightning turns it into ``sys.exit(1)``, a task
may swallow it), :func:`received` remembers it, so that the sweep still ends with the
signal's exit code, and the clean-up that follows waits for other processes only briefly
(:func:`wait_limit`). All of this belongs to no layer: the storage defers and waits, the
sweep loop installs the handlers.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

# After a signal, the clean-up (the trials in flight given back) waits at most this long for
# another process's lock or busy database; what it could not give back, the next process
# that joins the sweep reclaims (the trial's owner, this process, is gone by then).
CLEAN_UP_WAIT_SECONDS = 3.0
_depth = 0  # deferred blocks open in the main thread
_written = False  # the outermost deferred block has started writing
_waiting = 0  # interruptible waits open in the main thread
_pending: list[int] = []
_received: list[int] = []  # every signal handled while the handlers were installed


class Interrupted(KeyboardInterrupt):
    """The sweep was interrupted by ``signum`` (SIGINT: Ctrl+C, SIGTERM: ``kill``, preemption)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return exit_code(self.signum)


def exit_code(signum: int) -> int:
    return 128 + signum  # what a shell reports for a process ended by this signal


def received() -> int | None:
    """The first SIGINT or SIGTERM this process handled, None if none."""
    return _received[0] if _received else None


def wait_limit(default: float | None = None) -> float | None:
    """How long a wait for another process may last: ``default``, or a few seconds once a
    signal has asked this process to end."""
    if received() is None:
        return default
    return CLEAN_UP_WAIT_SECONDS if default is None else min(default, CLEAN_UP_WAIT_SECONDS)


def raise_if_received() -> None:
    """Raise the interrupt that a task caught and did not pass on."""
    signum = received()
    if signum is not None:
        raise Interrupted(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block (and every block around it) has ended."""
    global _depth, _written
    if not _main_thread():
        yield  # signal handlers run only in the main thread: nothing to hold here
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _written = False
            if _pending:
                signum = _pending[0]
                _pending.clear()
                raise Interrupted(signum)


def note_written() -> None:
    """The deferred block around has started writing: from now on it is not cut short."""
    global _written
    if _main_thread() and _depth > 0:
        _written = True


@contextlib.contextmanager
def interruptible_wait() -> Iterator[None]:
    """A wait for another process inside a deferred block: a signal ends it at once, unless
    the block has already written something (then the block finishes first)."""
    global _waiting
    if not _main_thread() or _depth == 0 or _written:
        yield
        return
    if _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)
    _waiting += 1
    try:
        yield
    finally:
        _waiting -= 1


def _on_signal(signum: int, frame: Any) -> None:
    _received.append(signum)
    if _depth > 0 and not _waiting:
        _pending.append(signum)
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` (deferred around storage writes)."""
    if not _main_thread():
        yield
        return
    _received.clear()  # a new sweep in this process (tests, an app that sweeps twice)
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
