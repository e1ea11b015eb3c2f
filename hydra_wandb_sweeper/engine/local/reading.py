"""Sweeps of the embedded engine, read from its Optuna storage (a journal file or a URL)."""

from __future__ import annotations

from pathlib import Path

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from hydra_wandb_sweeper.config import DEFAULT_STORAGE
from hydra_wandb_sweeper.engine.base import STOPPED_ATTR, SweepDefinition
from hydra_wandb_sweeper.engine.local.records import record_of
from hydra_wandb_sweeper.engine.local.storage import (
    is_stop_requested,
    open_storage,
    read_definition,
    request_stop,
)
from hydra_wandb_sweeper.engine.local.sweep_format import NewerSweepFormat
from hydra_wandb_sweeper.engine.table import (
    Column,
    InspectError,
    NewerSweepError,
    SweepTable,
    TrialRow,
)
from hydra_wandb_sweeper.errors import SweepConfigError


class LocalSweeps:
    """The sweeps in one storage; ``storage_spec`` is a journal file path or a storage URL."""

    def __init__(self, storage_spec: str | None = None) -> None:
        spec = storage_spec or str(DEFAULT_STORAGE)
        if "://" not in spec and not Path(spec).expanduser().is_file():
            hint = "" if storage_spec else " (run this from the folder you swept in, or pass it)"
            raise InspectError(
                f"no sweep storage at {spec}: --storage expects a journal file or URL{hint}"
            )
        self.spec = spec
        self._storage = _opened(spec, read_only=True)  # it may be a storage we cannot write

    def sweep_ids(self) -> list[str]:
        """Ids of this sweeper's sweeps, oldest first (other Optuna studies are left out)."""
        ids = [
            study.study_name
            for study in self._storage.get_all_studies()
            if self._ours(study.study_name)
        ]
        if not ids:
            raise InspectError(f"no sweeps in {self.spec} yet")
        return ids

    def read(self, sweep_id: str) -> SweepTable:
        definition = self._definition(sweep_id)
        study_id = self._storage.get_study_id_from_name(sweep_id)
        frozen = self._storage.get_all_trials(study_id, deepcopy=False)
        rows = [row for row in (_row(trial) for trial in frozen) if row is not None]
        starts = [trial.datetime_start for trial in frozen if trial.datetime_start]
        return SweepTable(
            sweep_id=sweep_id,
            source=self.spec,
            method=definition.method,
            metric=definition.metric_name,
            goal=definition.goal,
            columns=tuple(Column(key, name, spec) for key, name, spec in definition.parameters),
            trials=tuple(rows),
            name=definition.name,
            early_terminate=definition.early_terminate,
            run_cap=definition.run_cap,
            created=min(starts, default=None),
            paused=is_stop_requested(self._storage, study_id),
            program=definition.program,
        )

    def set_stopped(self, sweep_id: str, stop: bool) -> None:
        self._definition(sweep_id)
        writable = _opened(self.spec, read_only=False)
        request_stop(writable, writable.get_study_id_from_name(sweep_id), stop)

    def _ours(self, sweep_id: str) -> bool:
        try:
            read_definition(self._storage, sweep_id, self.spec)
        except NewerSweepFormat:
            return True  # ours, from a newer release: reading it says so
        except SweepConfigError:
            return False
        return True

    def _definition(self, sweep_id: str) -> SweepDefinition:
        try:
            return read_definition(self._storage, sweep_id, self.spec)
        except NewerSweepFormat as error:
            raise NewerSweepError(error.message) from None
        except SweepConfigError:
            names = [s.study_name for s in self._storage.get_all_studies()]
            known = ", ".join(name for name in names[-10:] if self._ours(name)) or "none"
            raise InspectError(
                f"no sweep {sweep_id!r} in {self.spec} (sweeps there: {known}); "
                "check the id, or pass --storage"
            ) from None


def _row(trial: FrozenTrial) -> TrialRow | None:
    record = record_of(trial)
    if record is None:
        return None
    stopped_at = trial.user_attrs.get(STOPPED_ATTR)
    return TrialRow(
        number=record.number,
        run_id=record.run_id,
        state=record.state.value,
        value=record.value,
        params=record.params,
        started=trial.datetime_start,
        ended=trial.datetime_complete,
        curve=dict(sorted(trial.intermediate_values.items())),
        stopped_at=stopped_at if isinstance(stopped_at, int) else None,
        overrides=record.overrides,
        error=record.error,
    )


def _opened(spec: str, *, read_only: bool) -> BaseStorage:
    try:
        return open_storage(spec, read_only=read_only)
    except SweepConfigError as error:
        raise InspectError(f"--storage: {error.message}") from None
