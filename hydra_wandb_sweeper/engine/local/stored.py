"""A stored local sweep read without joining it (nothing runs, nothing is reclaimed), and
where it was published on W&B."""

from __future__ import annotations

from typing import Any

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialRecord
from hydra_wandb_sweeper.engine.local.records import sweep_records
from hydra_wandb_sweeper.engine.local.storage import open_storage, read_definition
from hydra_wandb_sweeper.engine.local.sweep_format import PUBLISHED_ATTR


def read_sweep(
    storage_spec: str, sweep_id: str | None
) -> tuple[str, SweepDefinition, list[TrialRecord]]:
    """A stored sweep's id, definition and trials. ``sweep_id`` None: the sweep created last
    in the storage."""
    storage = open_storage(storage_spec)
    if sweep_id is None:
        studies = storage.get_all_studies()
        if not studies:
            raise ValueError(f"no sweep in {storage_spec}")
        sweep_id = max(studies).study_name  # studies order by creation
    definition = read_definition(storage, sweep_id, storage_spec)
    trials = storage.get_all_trials(storage.get_study_id_from_name(sweep_id), deepcopy=False)
    return sweep_id, definition, sweep_records(trials, grid=definition.method == "grid")


def note_published(storage_spec: str, sweep_id: str, wandb_sweep: str, runs: list[str]) -> None:
    """Remember where the sweep was published and which runs it holds there."""
    storage = open_storage(storage_spec)
    study_id = storage.get_study_id_from_name(sweep_id)
    storage.set_study_user_attr(study_id, PUBLISHED_ATTR, {"sweep": wandb_sweep, "runs": runs})


def published(storage_spec: str, sweep_id: str) -> dict[str, Any] | None:
    storage = open_storage(storage_spec)
    attrs = storage.get_study_user_attrs(storage.get_study_id_from_name(sweep_id))
    return attrs.get(PUBLISHED_ATTR)
