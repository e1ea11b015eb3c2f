"""The claim lock: one process at a time decides which trial runs next.

Optuna's own claim (a queued trial moved from WAITING to RUNNING) is atomic on PostgreSQL
but not on SQLite, whose driver reads the state outside the write transaction: 4 processes
on one queue ran points twice and crashed with ``UpdateFinishedTrialError``. The engine does
not use that queue. Every decision that must not race (which grid point runs next, whether
``run_cap`` has room, whether a trial is an orphan) is made while holding this lock, reading
the storage after taking it and writing the new trial (in one storage write) before letting go.

The lock dies with its holder on every storage, so a killed process never blocks the others:

- journal file: the POSIX lock its writes take (:mod:`.journal`); works on NFS with locking;
- SQLite: a POSIX lock on ``<database>.fcntl-lock`` beside the database (one machine);
- PostgreSQL: a session advisory lock (``pg_advisory_lock``) keyed by the sweep id;
- MySQL: a named lock (``GET_LOCK``).
"""

from __future__ import annotations

import contextlib
import zlib
from pathlib import Path
from typing import Any, Protocol

from hydra_wandb_sweeper.engine.local.journal import LOCK_SUFFIX
from hydra_wandb_sweeper.engine.local.locks import ProcessFileLock, ReentrantLock
from hydra_wandb_sweeper.engine.local.optuna_private import sql_engine


class ClaimLock(Protocol):
    def held(self) -> contextlib.AbstractContextManager[None]: ...


class _DatabaseLock(ReentrantLock):
    """A lock the database server holds for one connection, released if the connection dies."""

    def __init__(self, engine: Any, acquire: str, release: str, key: Any) -> None:
        self._init_reentrant()
        self._engine = engine
        self._statements, self._key = (acquire, release), key
        self._connection: Any = None

    def _run(self, statement: str) -> None:
        from sqlalchemy import text

        self._connection.execute(text(statement), {"key": self._key})
        self._connection.commit()

    def _acquire(self) -> None:
        # a connection of its own only while the lock is held (the lock is the session's):
        # an idle process holds no connection for it
        self._connection = self._engine.connect()
        try:
            self._run(self._statements[0])
        except BaseException:
            self._connection.close()
            raise

    def _release(self) -> None:
        try:
            self._run(self._statements[1])
        finally:
            self._connection.close()
            self._connection = None


def claim_lock(storage_spec: str, storage: Any, sweep_id: str) -> ClaimLock:
    if "://" not in storage_spec:
        return ProcessFileLock(storage_spec + LOCK_SUFFIX)
    dialect = storage_spec.split("://", 1)[0].split("+", 1)[0]
    if dialect == "sqlite":
        database = sql_engine(storage).url.database  # a file: open_storage refuses :memory:
        return ProcessFileLock(str(Path(database).resolve()) + LOCK_SUFFIX)
    name = f"hydra-wandb-sweeper:{sweep_id}"
    if dialect == "postgresql":
        key = zlib.crc32(name.encode())  # advisory locks are keyed by a 64-bit integer
        return _DatabaseLock(
            sql_engine(storage),
            "SELECT pg_advisory_lock(:key)",
            "SELECT pg_advisory_unlock(:key)",
            key,
        )
    if dialect in ("mysql", "mariadb"):
        return _DatabaseLock(
            sql_engine(storage), "SELECT GET_LOCK(:key, -1)", "SELECT RELEASE_LOCK(:key)", name[:64]
        )
    raise ValueError(
        f"storage {storage_spec!r}: the embedded engine supports journal files, SQLite, "
        "PostgreSQL and MySQL"
    )
