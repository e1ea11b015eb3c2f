"""Publish a local sweep to W&B: upload its trials' runs and make a W&B sweep that holds them.

The runs go up with ``wandb sync`` (W&B's own command, run as a subprocess); the sweep is
created with the public ``wandb.sweep(config, prior_runs=[...])``, so W&B's sweep views and
its bayes see the trials. Publishing again uploads only runs that are new since, and adds them
to the same W&B sweep (the same ``UpsertSweep`` with prior runs, for an existing sweep, named
by its GraphQL node id as W&B's own code names a sweep it updates).
``engine=wandb sweep_id=<the printed id>`` then continues the search on W&B.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.engine.cloud.connection import SweepPath, connect
from hydra_wandb_sweeper.engine.cloud.engine import wandb_sweep_config
from hydra_wandb_sweeper.engine.cloud.graphql import (
    NotFoundOnServer,
    RequestFailed,
    ServerRefused,
    ServerUnreachable,
)
from hydra_wandb_sweeper.engine.local.stored import note_published, published, read_sweep
from hydra_wandb_sweeper.errors import SweepRuntimeError

log = logging.getLogger(__name__)

# wandb sync of one run folder (its offline log replayed to the server) takes seconds.
SYNC_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Publication:
    local_sweep: str
    wandb_sweep: str  # entity/project/id
    url: str
    added: tuple[str, ...]  # runs added to the W&B sweep this time
    missing: tuple[str, ...]  # trials whose run folder was not found (not published)


def find_run_folders(root: Path) -> dict[str, Path]:
    """Run id → its W&B run folder (``offline-run-<time>-<id>`` or ``run-<time>-<id>``)."""
    found: dict[str, Path] = {}
    for pattern in ("offline-run-*", "run-*"):
        for path in root.rglob(pattern):
            if path.is_dir() and path.parent.name == "wandb":
                found.setdefault(path.name.rsplit("-", 1)[-1], path)
    return found


def publish_local_sweep(
    storage: str,
    sweep_id: str | None,
    runs_root: Path,
    *,
    project: str | None,
    entity: str | None,
) -> Publication:
    try:
        local_id, definition, records = read_sweep(storage, sweep_id)
    except ValueError as error:
        raise SweepRuntimeError(f"Nothing to publish: {error}") from None
    folders = find_run_folders(runs_root)
    trial_runs = [record.run_id for record in records if record.run_id]
    missing = tuple(run for run in trial_runs if run not in folders)
    before = published(storage, local_id) or {}
    new_runs = [run for run in trial_runs if run in folders and run not in before.get("runs", [])]

    connection = connect()
    if before.get("sweep"):
        path = SweepPath.parse(before["sweep"], None, None)
    else:
        path = SweepPath(
            entity or connection.default_entity, project or "uncategorized", sweep_id=""
        )
    _sync([folders[run] for run in new_runs], path.project, path.entity)

    import wandb

    try:
        if not before.get("sweep"):
            config = wandb_sweep_config(definition, program=None)
            config.setdefault("name", definition.name or f"local sweep {local_id}")
            created = wandb.sweep(
                config, entity=path.entity, project=path.project, prior_runs=new_runs
            )
            path = SweepPath(path.entity, path.project, created)
        elif new_runs:
            connection.client.add_prior_runs(
                path.sweep_id, str(path.project), str(path.entity), new_runs
            )
    except NotFoundOnServer:
        raise SweepRuntimeError(
            f"W&B sweep {path}, where this sweep was published before, is gone from the "
            "server: the new runs were uploaded but belong to no W&B sweep"
        ) from None
    except (wandb.errors.Error, ServerUnreachable, ServerRefused, RequestFailed) as error:
        raise SweepRuntimeError(f"W&B refused the sweep: {error}") from None
    note_published(storage, local_id, str(path), [*before.get("runs", []), *new_runs])
    return Publication(
        local_sweep=local_id,
        wandb_sweep=str(path),
        url=connection.sweep_url(path),
        added=tuple(new_runs),
        missing=missing,
    )


def _sync(folders: list[Path], project: str | None, entity: str | None) -> None:
    if not folders:
        return
    command = [sys.executable, "-m", "wandb", "sync", "--include-synced"]
    if project:
        command += ["--project", project]
    if entity:
        command += ["--entity", entity]
    done = subprocess.run(
        [*command, *map(str, folders)],
        capture_output=True,
        text=True,
        timeout=SYNC_TIMEOUT_SECONDS,
    )
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SweepRuntimeError(f"wandb sync failed ({done.returncode}): {last[0]}")
    log.info(f"Uploaded {len(folders)} run(s) with wandb sync")


def publish_at_end(settings: Any, local_sweep: str, sweep_dir: Path) -> None:
    """``hydra.sweeper.publish: true``: the finished local sweep goes to W&B at once."""
    done = publish_local_sweep(
        settings.storage, local_sweep, sweep_dir, project=settings.project, entity=settings.entity
    )
    log.info(f"Published as W&B sweep {done.wandb_sweep} ({len(done.added)} runs): {done.url}")
    if done.missing:
        log.warning(f"{len(done.missing)} trial(s) left no W&B run folder: not published")
