"""Sweeps on a W&B server, read through wandb's public API (``wandb.Api()``).

A W&B sweep is named by its path ``entity/project/sweep_id``. Its parameters keep their W&B
names (the cloud server knows no Hydra keys), and each run is one trial: its state, the
sweep metric from its summary, its curve from its history, and whether early termination
stopped it (W&B's ``sweep/stopped_early`` summary key, which the sweeper's jobs write).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hydra_wandb_sweeper.engine.base import ACTIVE_KEY
from hydra_wandb_sweeper.engine.table import Column, InspectError, SweepTable, TrialRow

# W&B run states -> the sweeper's trial states
_RUN_STATES = {
    "running": "running",
    "pending": "running",
    "preempting": "running",
    "finished": "finished",
    "crashed": "failed",
    "failed": "failed",
    "killed": "failed",
    "preempted": "failed",
}


class WandbSweeps:
    @functools.cached_property
    def _api(self) -> Any:
        # made at the first read: telling how W&B stops a sweep needs no connection
        import wandb

        try:
            return wandb.Api(timeout=30)
        except Exception as error:  # no key, no server: say so in one line
            raise InspectError(f"cannot reach W&B: {error}") from None

    def sweep_ids(self, project_path: str) -> list[str]:
        """The sweep paths of ``entity/project``."""
        try:
            entity, name = _split(project_path, 2, "ENTITY/PROJECT")
            project = self._api.project(name, entity=entity)
            return ["/".join(sweep.path) for sweep in project.sweeps()]
        except Exception as error:
            raise InspectError(f"cannot list the sweeps of {project_path}: {error}") from None

    def set_stopped(self, path: str, stop: bool) -> None:
        verb = "--pause" if stop else "--resume"
        raise InspectError(
            f"W&B sweeps are stopped and resumed by W&B: run `wandb sweep {verb} {path}` "
            "(or use the sweep's page)"
        )

    def read(self, path: str) -> SweepTable:
        _split(path, 3, "ENTITY/PROJECT/SWEEP_ID")
        try:
            sweep = self._api.sweep(path)
        except Exception as error:
            raise InspectError(f"no W&B sweep {path}: {error}") from None
        config = sweep.config or {}
        metric = config.get("metric") or {}
        name = metric.get("name")
        runs = list(sweep.runs)
        return table_from_wandb(
            path,
            config,
            [run_fields(run, name) for run in runs],
            state=str(getattr(sweep, "state", "") or ""),
        )


def run_fields(run: Any, metric: str | None) -> dict[str, Any]:
    """What the table needs from one public-API run, as plain data."""
    curve: dict[int, float] = {}
    if metric:
        # W&B's sampled history (every row when a run has fewer than `samples`); steps count
        # the metric's rows from 1, as W&B's hyperband counts them
        rows = run.history(keys=[metric], pandas=False, samples=10_000)
        values = [row[metric] for row in sorted(rows, key=lambda row: row.get("_step", 0))]
        numbers = [float(v) for v in values if isinstance(v, (int, float))]
        curve = {step: value for step, value in enumerate(numbers, start=1)}
    return {
        "id": run.id,
        "state": run.state,
        "config": dict(run.config),
        "summary": dict(run.summary),
        "created_at": getattr(run, "created_at", None),
        "heartbeat_at": run._attrs.get("heartbeatAt") if hasattr(run, "_attrs") else None,
        "curve": curve,
    }


def table_from_wandb(
    path: str, config: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], state: str = ""
) -> SweepTable:
    """The neutral table of a W&B sweep, from its config and its runs as plain data."""
    metric = config.get("metric") or {}
    names = list(_flat_names(config.get("parameters") or {}))
    columns = tuple(Column(name, name, spec) for name, spec in names)
    trials = [_trial(number, run, metric.get("name"), columns) for number, run in enumerate(runs)]
    return SweepTable(
        sweep_id=path.rsplit("/", 1)[-1],
        source=path,
        method=str(config.get("method", "")),
        metric=metric.get("name"),
        goal=str(metric.get("goal") or "minimize"),
        columns=columns,
        trials=tuple(trials),
        name=config.get("name"),
        early_terminate=config.get("early_terminate"),
        run_cap=config.get("run_cap"),
        created=min((t.started for t in trials if t.started), default=None),
        paused=state.lower() in ("paused", "finished", "cancelled"),
        program=config.get("program"),
    )


def _trial(
    number: int, run: Mapping[str, Any], metric: str | None, columns: Iterable[Column]
) -> TrialRow:
    summary = run.get("summary") or {}
    state = _RUN_STATES.get(str(run.get("state", "")).lower(), "failed")
    if state == "finished" and summary.get("sweep/stopped_early"):
        state = "stopped"
    value = summary.get(metric) if metric else None
    config = run.get("config") or {}
    return TrialRow(
        number=number,
        run_id=str(run.get("id", "")),
        state=state,
        value=float(value) if isinstance(value, (int, float)) else None,
        params=_params(config, columns),
        started=_moment(run.get("created_at")),
        ended=_moment(run.get("heartbeat_at")) if state != "running" else None,
        curve=dict(run.get("curve") or {}),
        stopped_at=summary.get("sweep/stopped_at_step"),
    )


def _params(config: Mapping[str, Any], columns: Iterable[Column]) -> dict[str, Any]:
    """The run's values by Hydra key; in a conditional sweep only those that applied to it
    (the run lists them), so that an inactive parameter shows blank, not W&B's draw."""
    active = _config_value(config, ACTIVE_KEY)
    return {
        column.key: _config_value(config, column.key)
        for column in columns
        if not isinstance(active, list) or column.wandb_name in active
    }


def _config_value(config: Mapping[str, Any], name: str) -> Any:
    """A run's value of a sweep parameter: a flat dotted key, or nested dicts for W&B's nested
    ``parameters:`` blocks; the raw form ``{"value": v}`` is unwrapped."""
    value: Any = config.get(name)
    if value is None and "." in name:
        value = config
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, Mapping) and set(value) == {"value"}:
        return value["value"]
    return value


def _flat_names(parameters: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for name, spec in parameters.items():
        if isinstance(spec, Mapping) and set(spec) == {"parameters"}:
            yield from _flat_names(spec["parameters"], f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", spec


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment


def _split(path: str, parts: int, shape: str) -> list[str]:
    pieces = path.split("/")
    if len(pieces) != parts or not all(pieces):
        raise InspectError(f"expected a W&B path {shape}, got {path!r}")
    return pieces
