"""Where the embedded engine keeps sweeps: Optuna storages, the stored sweep definition, and
the sentence a user reads when the storage fails mid-sweep.

Which storage for what (README, "Storage"): the default journal file (:mod:`.journal`) for
one machine or several sharing a disk (NFS with locking); SQLite for one machine (WAL mode,
a 60 s busy timeout; not on NFS); PostgreSQL or MySQL for many machines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna

from hydra_wandb_sweeper.engine.base import SweepDefinition
from hydra_wandb_sweeper.engine.local.journal import open_journal
from hydra_wandb_sweeper.engine.local.optuna_private import shared_rdb_storage
from hydra_wandb_sweeper.engine.local.sqlite_waits import STEP_SECONDS, connection_factory
from hydra_wandb_sweeper.engine.local.sweep_format import (
    DEFINITION_ATTR,
    FORMAT_ATTR,
    FORMAT_VERSION,
    STOP_ATTR,
    check_readable,
)
from hydra_wandb_sweeper.errors import SweepConfigError, SweepStorageError

# The folder of the default storage, under the launch folder.
STATE_FOLDER = ".wandb-sweeps"
# How long a SQLite write waits for another process's write before it fails.
SQLITE_BUSY_SECONDS = 60.0
# Connections each process opens to a database server (README, "Storage"): one for the
# claim lock while it is held, one for everything else.
CONNECTIONS_PER_PROCESS = 2


def open_storage(spec: str, *, read_only: bool = False) -> optuna.storages.BaseStorage:
    """A journal file for a path, an RDB storage for a URL; errors name ``hydra.sweeper.storage``.

    ``read_only``: for reading sweeps back (the command-line tool), which must work on a
    storage this process may not write (a read-only mount, another user's files): nothing is
    created, locked or set up."""
    try:
        if "://" in spec:
            return _open_database(spec, read_only=read_only)
        path = Path(spec).expanduser()
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
            _ignore_in_git(path.parent)
        return open_journal(str(path), read_only=read_only)
    except SweepConfigError:
        raise
    except Exception as error:  # any driver error: the user must see which URL failed
        raise SweepConfigError(
            "hydra.sweeper.storage",
            f"cannot open storage {spec!r}: {_first_line(error)}. Expected a writable journal "
            "file path or an Optuna storage URL such as sqlite:///sweeps.db or "
            "postgresql://user@host/db",
        ) from None


def _open_database(url: str, *, read_only: bool = False) -> optuna.storages.BaseStorage:
    # One storage per URL and process (the sweep loop, its heartbeat and an in-process job
    # share it), keyed by pid so that a forked child opens its own connections.
    return _database(url, read_only, os.getpid())


@functools.lru_cache(maxsize=16)
def _database(url: str, read_only: bool, pid: int) -> optuna.storages.BaseStorage:
    if not url.startswith("sqlite"):
        # A server admits max_connections clients (PostgreSQL: 100): each process holds
        # at most CONNECTIONS_PER_PROCESS, so that a sweep's processes are what counts.
        bounded = {"pool_size": CONNECTIONS_PER_PROCESS, "max_overflow": 0}
        return shared_rdb_storage(_rdb(url, with_driver(url), bounded))
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        raise SweepConfigError(
            "hydra.sweeper.storage",
            f"got {url!r}, an in-memory SQLite database: it lives in this process alone, so "
            "no job, resume or other process could reach the sweep. Expected a file, such as "
            "sqlite:///sweeps.db",
        )
    # a timeout in the URL (sqlite:///x.db?timeout=5) wins over ours
    busy = float(parsed.query.get("timeout", SQLITE_BUSY_SECONDS))  # type: ignore[arg-type]
    # SQLite waits for a busy database in steps that Ctrl+C can end (see sqlite_waits)
    connect_args = {"timeout": STEP_SECONDS, "factory": connection_factory(busy)}
    storage = _rdb(url, url, {"connect_args": connect_args})
    if not read_only:
        # WAL: readers never block the writer, and a kill mid-write never tears the database
        with storage.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    return shared_rdb_storage(storage)


def _rdb(url: str, driver_url: str, engine_kwargs: dict[str, Any]) -> optuna.storages.RDBStorage:
    """Optuna's storage on a database whose schema this Optuna reads as it is.

    A database another Optuna release set up may need its schema migrated first; Optuna's
    own check says so in terms of ``$STORAGE_URL``: this names the URL and the command."""
    storage = optuna.storages.RDBStorage(
        driver_url, engine_kwargs=engine_kwargs, skip_compatibility_check=True
    )
    schema, head = storage.get_current_version(), storage.get_head_version()
    if schema == head:
        return storage
    if schema in storage.get_all_versions():
        reason = (
            f"it holds the database schema of an older Optuna ({schema}), which Optuna "
            f"{optuna.__version__} reads after `optuna storage upgrade --storage {url}` "
            "(copy the database first: releases older than the upgrade cannot read it after)"
        )
    else:
        reason = (
            f"it holds the database schema of a newer Optuna ({schema}) than this one "
            f"({optuna.__version__}): upgrade optuna and hydra-wandb-sweeper to read it"
        )
    raise SweepConfigError("hydra.sweeper.storage", f"cannot open storage {url!r}: {reason}")


def with_driver(url: str) -> str:
    """``postgresql://`` (the README's form) through psycopg 3, the driver of the ``postgres``
    extra: SQLAlchemy 2.1 picks it for a URL without a driver, but 2.0 picks psycopg2. A URL
    that names its driver (``postgresql+psycopg2://``) is left as written."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is not None:
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _ignore_in_git(folder: Path) -> None:
    """The default storage folder holds machine state, never source: keep it out of git."""
    marker = folder / ".gitignore"
    if folder.name == STATE_FOLDER and not marker.exists():
        marker.write_text(
            "# sweep state of hydra-wandb-sweeper; delete the folder to forget it\n*\n"
        )


def store_definition(study: optuna.Study, definition: SweepDefinition) -> None:
    study.set_user_attr(FORMAT_ATTR, FORMAT_VERSION)
    study.set_user_attr(DEFINITION_ATTR, dataclasses.asdict(definition))


def read_definition(
    storage: optuna.storages.BaseStorage, sweep_id: str, storage_spec: str
) -> SweepDefinition:
    """The definition of sweep ``sweep_id``; a clear error when it is not in the storage."""
    try:
        study_id = storage.get_study_id_from_name(sweep_id)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        known = ", ".join(names[-10:]) or "none"
        raise SweepConfigError(
            "hydra.sweeper.sweep_id",
            f"no sweep {sweep_id!r} in storage {storage_spec!r} (sweeps there: {known}). "
            "Check the id, or point hydra.sweeper.storage at the storage that holds it",
        ) from None
    study_attrs = storage.get_study_user_attrs(study_id)
    stored = study_attrs.get(DEFINITION_ATTR)
    if stored is not None:
        check_readable(study_attrs, sweep_id, storage_spec)
    known_fields = {field.name for field in dataclasses.fields(SweepDefinition)}
    if not isinstance(stored, dict) or not {"method", "parameters"} <= stored.keys():
        raise SweepConfigError(
            "hydra.sweeper.sweep_id",
            f"study {sweep_id!r} in {storage_spec!r} was not created by this sweeper",
        )
    fields: dict[str, Any] = {k: v for k, v in stored.items() if k in known_fields}
    fields["parameters"] = tuple(tuple(entry) for entry in fields["parameters"])
    return SweepDefinition(**fields)


@contextlib.contextmanager
def storage_faults(location: str) -> Iterator[None]:
    """A storage that fails mid-sweep (full disk, read-only, locked, unreachable) ends the
    sweep with one sentence instead of a driver's traceback."""
    try:
        yield
    except (OSError, optuna.exceptions.StorageInternalError) as error:
        raise SweepStorageError(describe_storage_fault(error, location)) from error
    except Exception as error:
        if type(error).__module__.startswith("sqlalchemy"):
            raise SweepStorageError(describe_storage_fault(error, location)) from error
        raise


def is_stop_requested(storage: optuna.storages.BaseStorage, study_id: int) -> bool:
    return bool(storage.get_study_user_attrs(study_id).get(STOP_ATTR))


def request_stop(storage: optuna.storages.BaseStorage, study_id: int, stop: bool) -> None:
    """Ask every process of the sweep to stop after its current trials (or let them go on)."""
    storage.set_study_user_attr(study_id, STOP_ATTR, stop)


def describe_storage_fault(error: BaseException, location: str) -> str:
    cause = error.__cause__ or error.__context__ or error
    text = f"{_first_line(error)} {_first_line(cause)}".lower()
    errnos = {getattr(error, "errno", None), getattr(cause, "errno", None)}
    if errnos & {errno.ENOSPC, errno.EDQUOT, errno.EFBIG} or "full" in text:
        what, fix = "cannot be written: the disk is full", "free some space"
    elif errnos & {errno.EROFS, errno.EACCES, errno.EPERM} or "readonly" in text:
        what, fix = "cannot be written: it is read-only", "make it writable"
    elif "locked" in text:
        what = "stayed locked by another program for longer than its busy timeout"
        fix = "end the program holding it (or use a journal file or PostgreSQL)"
    else:
        what, fix = f"failed: {_first_line(cause)}", "check the storage"
    return (
        f"The sweep's storage {location} {what}. Finished trials are kept: {fix}, then "
        "resume with the join command printed at the start"
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
