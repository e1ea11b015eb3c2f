"""Where the embedded engine keeps sweeps: Optuna storages, the stored sweep definition, and
how to tell that the process running a trial is gone."""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from hydra_wandb_sweeper.engine.base import SweepDefinition
from hydra_wandb_sweeper.errors import SweepConfigError

DEFINITION_ATTR = "wandb_sweep"
# The folder of the default storage, under the launch folder.
STATE_FOLDER = ".wandb-sweeps"
# A RUNNING trial whose process has not written a heartbeat for this long is taken as dead.
HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 10 * 60.0
HOST = socket.gethostname()


def open_storage(spec: str) -> optuna.storages.BaseStorage:
    """A journal file for a path, an RDB storage for a URL; errors name ``hydra.sweeper.storage``."""
    try:
        if "://" in spec:
            return optuna.storages.RDBStorage(spec)
        path = Path(spec).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        _ignore_in_git(path.parent)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)
    except Exception as error:  # any driver error: the user must see which URL failed
        raise SweepConfigError(
            "hydra.sweeper.storage",
            f"cannot open storage {spec!r}: {error}. Expected a writable journal file path "
            "or an Optuna storage URL such as sqlite:///sweeps.db or postgresql://user@host/db",
        ) from error


def _ignore_in_git(folder: Path) -> None:
    """The default storage folder holds machine state, never source: keep it out of git."""
    marker = folder / ".gitignore"
    if folder.name == STATE_FOLDER and not marker.exists():
        marker.write_text(
            "# sweep state of hydra-wandb-sweeper; delete the folder to forget it\n*\n"
        )


def store_definition(study: optuna.Study, definition: SweepDefinition) -> None:
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
    stored = storage.get_study_user_attrs(study_id).get(DEFINITION_ATTR)
    known_fields = {field.name for field in dataclasses.fields(SweepDefinition)}
    if not isinstance(stored, dict) or not {"method", "parameters"} <= stored.keys():
        raise SweepConfigError(
            "hydra.sweeper.sweep_id",
            f"study {sweep_id!r} in {storage_spec!r} was not created by this sweeper",
        )
    fields: dict[str, Any] = {k: v for k, v in stored.items() if k in known_fields}
    fields["parameters"] = tuple(tuple(entry) for entry in fields["parameters"])
    return SweepDefinition(**fields)


def is_orphan(trial: FrozenTrial, now: float) -> bool:
    """A RUNNING trial of another process (this one's live trials are never passed here)
    whose process is gone: dead on this host, or silent for too long anywhere."""
    attrs = trial.user_attrs
    if attrs.get("host") == HOST and isinstance(attrs.get("pid"), int):
        # our own pid can only be a previous process's (a restarted container): orphan
        return attrs["pid"] == os.getpid() or not _process_alive(attrs["pid"])
    started = trial.datetime_start.timestamp() if trial.datetime_start else now
    return now - float(attrs.get("heartbeat", started)) > STALE_AFTER_SECONDS


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def heartbeat_attrs() -> dict[str, Any]:
    return {"host": HOST, "pid": os.getpid(), "heartbeat": time.time()}
