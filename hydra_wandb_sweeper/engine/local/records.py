"""What the sweep's trials say: records for the results, and how unfinished trials ended."""

from __future__ import annotations

from collections.abc import Iterable

from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from hydra_wandb_sweeper.engine.base import OVERRIDES_ATTR, TrialRecord, TrialState
from hydra_wandb_sweeper.engine.local.grid import ENDED_ATTR, RERUN_ENDINGS, histories
from hydra_wandb_sweeper.engine.local.sweep_format import (
    ERROR_ATTR,
    NO_METRIC_ATTR,
    PARAMS_ATTR,
    RUN_ID_ATTR,
    STATE_ATTR,
)

# Endings that do not count against run_cap: the task never finished.
UNCOUNTED_ENDINGS = (*RERUN_ENDINGS, "process_died")


def sweep_records(trials: Iterable[FrozenTrial], *, grid: bool) -> list[TrialRecord]:
    """Every trial that ran; a grid has one record per point, with its final state. Trials
    cut short without fault of their own are left out off the grid: another took their slot."""
    ran = [
        trial
        for trial in trials
        if trial.state is not OptunaState.WAITING and PARAMS_ATTR in trial.user_attrs
    ]
    if not grid:
        return [
            record(trial) for trial in ran if trial.user_attrs.get(ENDED_ATTR) not in RERUN_ENDINGS
        ]
    points = histories(ran)
    return [
        record(points[point].final(), will_rerun=points[point].will_rerun)
        for point in sorted(points)
    ]


def ending(reason: str, worker_died: bool, cut_short: int, started: bool) -> tuple[str, str]:
    """How a trial that did not finish ended, and the error it is recorded with."""
    if not worker_died:
        return "interrupted", reason
    if cut_short == 1:
        return ("process_died" if started else "interrupted"), reason
    return "suspect", (
        f"{reason}, in a batch of {cut_short} unfinished trials; a grid point runs again alone "
        "so that the one whose task ends its process is found"
    )


def counts_against_cap(trial: FrozenTrial) -> bool:
    return (
        trial.state is not OptunaState.WAITING
        and trial.user_attrs.get(ENDED_ATTR) not in UNCOUNTED_ENDINGS
    )


def record(trial: FrozenTrial, will_rerun: bool = False) -> TrialRecord:
    attrs = trial.user_attrs
    if trial.state is OptunaState.COMPLETE:
        state = TrialState(attrs.get(STATE_ATTR, TrialState.FINISHED.value))
    elif trial.state is OptunaState.RUNNING:
        state = TrialState.RUNNING
    else:
        state = TrialState.FAILED
    has_metric = trial.state is OptunaState.COMPLETE and not attrs.get(NO_METRIC_ATTR)
    return TrialRecord(
        number=trial.number,
        run_id=str(attrs.get(RUN_ID_ATTR, "")),
        state=state,
        value=trial.value if has_metric else None,
        params=attrs.get(PARAMS_ATTR, {}),
        error=attrs.get(ERROR_ATTR),
        overrides=tuple(attrs[OVERRIDES_ATTR]) if OVERRIDES_ATTR in attrs else None,
        will_rerun=will_rerun,
        reports=len(trial.intermediate_values),
    )


def record_of(trial: FrozenTrial) -> TrialRecord | None:
    """The record of one stored trial, as the results count it; None for a trial that never
    ran or was cut short without fault of its own (another trial took its place)."""
    if trial.state is OptunaState.WAITING or PARAMS_ATTR not in trial.user_attrs:
        return None
    if trial.user_attrs.get(ENDED_ATTR) in RERUN_ENDINGS:
        return None
    return record(trial)
