"""The neutral table every source produces and every command reads: a sweep and its trials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hydra_wandb_sweeper.searchspace.overrides import override

STATES = ("finished", "stopped", "running", "failed")


class InspectError(Exception):
    """What the user asked for cannot be shown (unknown sweep, empty storage, no result):
    the command-line tool prints the message as one line and exits non-zero."""


class NewerSweepError(InspectError):
    """The sweep was written by a newer release of the sweeper: this one cannot read it."""


@dataclass(frozen=True)
class Column:
    """One swept parameter: its Hydra override key, its W&B name, its W&B spec."""

    key: str
    wandb_name: str
    spec: Mapping[str, Any]

    @property
    def log_scale(self) -> bool:
        return "log" in str(self.spec.get("distribution", ""))


@dataclass(frozen=True)
class TrialRow:
    number: int
    run_id: str
    state: str  # one of STATES
    value: float | None
    params: Mapping[str, Any]  # keyed by Hydra override key
    started: datetime | None = None
    ended: datetime | None = None
    # the metric each reported step (the curve early termination judged)
    curve: Mapping[int, float] = field(default_factory=dict)
    stopped_at: int | None = None  # the step at which early termination stopped it
    overrides: tuple[str, ...] | None = None  # what Hydra applied to the trial's job
    error: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started is None:
            return None
        end = self.ended or datetime.now(tz=self.started.tzinfo)
        return (end - self.started).total_seconds()


@dataclass(frozen=True)
class SweepTable:
    sweep_id: str
    source: str  # the storage or the W&B path it was read from
    method: str
    metric: str | None
    goal: str  # minimize | maximize
    columns: tuple[Column, ...]
    trials: tuple[TrialRow, ...]
    name: str | None = None
    early_terminate: Mapping[str, Any] | None = None
    run_cap: int | None = None
    created: datetime | None = None
    paused: bool = False  # stopped with `hydra-wandb-sweeper stop`
    program: str | None = None  # the script the sweep ran

    def rerun_overrides(self, trial: TrialRow) -> list[str]:
        """What Hydra applied to the trial's job; rebuilt from its values if it recorded none."""
        if trial.overrides is not None:
            return list(trial.overrides)
        return [override(c.key, trial.params[c.key]) for c in self.columns if c.key in trial.params]

    def counts(self) -> dict[str, int]:
        counted = Counter(trial.state for trial in self.trials)
        return {state: counted.get(state, 0) for state in STATES}

    def best(self) -> TrialRow | None:
        scored = [t for t in self.trials if t.value is not None and t.state in STATES[:2]]
        if not scored or self.metric is None:
            return None
        pick = max if self.goal == "maximize" else min
        return pick(scored, key=lambda trial: trial.value)  # type: ignore[arg-type,return-value]

    def require_best(self) -> TrialRow:
        best = self.best()
        if best is None:
            if self.metric is None:
                raise InspectError(
                    f"sweep {self.sweep_id} has no metric to rank its trials by "
                    f"({self._counts_text()})"
                )
            raise InspectError(
                f"sweep {self.sweep_id} has no finished trial with {self.metric} yet "
                f"({self._counts_text()})"
            )
        return best

    def last_activity(self) -> datetime | None:
        moments = [m for t in self.trials for m in (t.started, t.ended) if m is not None]
        return max(moments, default=self.created)

    def wandb_names(self) -> dict[str, str]:
        return {column.key: column.wandb_name for column in self.columns}

    def _counts_text(self) -> str:
        return ", ".join(f"{n} {state}" for state, n in self.counts().items() if n) or "no trials"


class SweepReader(Protocol):
    """Where an engine's sweeps are read for inspection, and stopped or let go on."""

    def read(self, sweep: str) -> SweepTable: ...

    def set_stopped(self, sweep: str, stop: bool) -> None: ...


def sort_trials(trials: Sequence[TrialRow], key: str, table: SweepTable) -> list[TrialRow]:
    """Trials ordered by ``key``: number, state, value (best first), duration, or a parameter's
    key or W&B name. Trials without that field go last."""
    columns = {c.key: c.key for c in table.columns} | {c.wandb_name: c.key for c in table.columns}
    if key in ("number", "state", "run_id"):
        return sorted(trials, key=lambda trial: getattr(trial, key))
    if key in ("value", "metric"):
        sign = -1.0 if table.goal == "maximize" else 1.0
        return _sorted_missing_last(trials, lambda t: None if t.value is None else sign * t.value)
    if key == "duration":
        return _sorted_missing_last(trials, lambda t: t.duration_s)
    if key in columns:
        param = columns[key]
        return _sorted_missing_last(trials, lambda t: _sortable(t.params.get(param)))
    choices = ["number", "state", "value", "duration", *columns]
    raise InspectError(f"--sort: got {key!r}, expected one of {', '.join(choices)}")


def _sortable(value: Any) -> Any:
    return (
        None
        if value is None
        else (0, value)
        if isinstance(value, (int, float))
        else (1, str(value))
    )


def _sorted_missing_last(trials: Sequence[TrialRow], key: Any) -> list[TrialRow]:
    present = [t for t in trials if key(t) is not None]
    missing = [t for t in trials if key(t) is None]
    return sorted(present, key=key) + missing


def trial_json(trial: TrialRow, table: SweepTable) -> dict[str, Any]:
    """One trial for ``--json``: parameters under their W&B names, times as ISO strings."""
    names = table.wandb_names()
    return {
        "number": trial.number,
        "run_id": trial.run_id,
        "state": trial.state,
        "value": trial.value,
        "params": {names.get(key, key): value for key, value in trial.params.items()},
        "started": _iso(trial.started),
        "ended": _iso(trial.ended),
        "duration_s": trial.duration_s,
        "stopped_at_step": trial.stopped_at,
        "overrides": list(trial.overrides) if trial.overrides is not None else None,
        "error": trial.error,
    }


def sweep_json(table: SweepTable) -> dict[str, Any]:
    best = table.best()
    return {
        "sweep_id": table.sweep_id,
        "name": table.name,
        "source": table.source,
        "method": table.method,
        "metric": {"name": table.metric, "goal": table.goal},
        "trials": table.counts(),
        "best_value": None if best is None else best.value,
        "best_trial": None if best is None else best.number,
        "created": _iso(table.created),
        "last_activity": _iso(table.last_activity()),
        "stopped": table.paused,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
