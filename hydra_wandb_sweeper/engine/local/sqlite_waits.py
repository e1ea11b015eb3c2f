"""Waiting for a SQLite database that another process is writing, in steps Ctrl+C can end.

SQLite's own busy timeout waits inside the driver's C code, where Python runs no signal
handler: with a 60 s timeout, Ctrl+C while another program held the database did nothing for
minutes (each statement of the interrupted sweep's clean-up waited its own 60 s). Here each
attempt waits at most :data:`STEP_SECONDS` in SQLite, and this module retries a statement or
commit that found the database busy until the busy timeout is spent, waiting in Python
between attempts (:func:`interruptible_wait`: a signal ends a wait as long as nothing has been
committed yet in the write around it). Retrying is what SQLite's busy handler does itself;
only a plain ``SQLITE_BUSY`` is retried, never a busy snapshot, which no wait can resolve.

Once one wait has run out, the next ones in this process give up after one step until a
commit succeeds again (reads go on succeeding while another program holds the write lock):
a sweep that ends because its database stayed locked ends in about the busy timeout, not
once per clean-up write.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hydra_wandb_sweeper.interrupts import interruptible_wait, note_written, wait_limit

STEP_SECONDS = 0.1  # SQLite's own busy timeout for one attempt
_SQLITE_BUSY = 5  # the primary result code; a busy snapshot (517) is not retried
_T = TypeVar("_T")
_given_up = False  # a wait ran out, and nothing has succeeded since


def connection_factory(busy_seconds: float) -> type[sqlite3.Connection]:
    """A :class:`sqlite3.Connection` class whose statements wait up to ``busy_seconds`` for a
    busy database; pass it as ``factory`` with ``timeout=STEP_SECONDS``."""

    class Cursor(sqlite3.Cursor):
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            return _retrying(busy_seconds, super().execute, *args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> Any:
            return _retrying(busy_seconds, super().executemany, *args, **kwargs)

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = Cursor) -> Any:  # type: ignore[override]
            return super().cursor(factory)

        def execute(self, *args: Any, **kwargs: Any) -> Any:
            return self.cursor().execute(*args, **kwargs)

        def commit(self) -> None:
            global _given_up
            wrote = self.in_transaction  # a read alone opens no transaction: nothing to commit
            _retrying(busy_seconds, super().commit)
            if wrote:
                _given_up = False
                note_written()

    return Connection


def _retrying(busy_seconds: float, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    global _given_up
    limit = wait_limit(STEP_SECONDS if _given_up else busy_seconds)
    deadline = time.monotonic() + (busy_seconds if limit is None else limit)
    while True:
        try:
            result = call(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
            if time.monotonic() >= deadline:
                _given_up = True
                raise
            with interruptible_wait():
                time.sleep(STEP_SECONDS / 10)  # SQLite itself waited STEP_SECONDS
            continue
        return result


def _busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code == _SQLITE_BUSY)
    return "database is locked" in str(error)
