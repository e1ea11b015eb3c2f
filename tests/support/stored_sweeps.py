"""Sweeps written straight into a real storage through the real local engine and the job's
reporter, so that inspection tests need no training: each trial's values come from the
engine's sampler, its curve and result from a function of those values."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.engine.base import STOPPED_ATTR, SweepDefinition, TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.engine.local.trial import LocalTrialReporter
from hydra_wandb_sweeper.searchspace.space import build_search_space


@dataclass
class Outcome:
    value: float | None
    state: TrialState = TrialState.FINISHED
    curve: Sequence[float] = ()  # the metric at steps 1, 2, ...
    stopped_at: int | None = None
    extra_overrides: Sequence[str] = field(default_factory=tuple)


def store_sweep(
    storage: Path,
    parameters: Mapping[str, Any],
    trials: int,
    outcome: Callable[[Mapping[str, Any]], Outcome],
    *,
    method: str = "random",
    metric: str = "score",
    goal: str = "maximize",
    early_terminate: Mapping[str, Any] | None = None,
    name: str | None = None,
    program: str = "train.py",
) -> str:
    space = build_search_space(parameters, [])
    definition = SweepDefinition(
        method=method,
        metric_name=metric,
        goal=goal,
        target=None,
        parameters=tuple((p.key, p.wandb_name, dict(p.spec)) for p in space.parameters),
        early_terminate=early_terminate,
        name=name,
        program=program,
    )
    engine = LocalEngine.create(str(storage), definition, seed=0)
    try:
        for _ in range(trials):
            trial = engine.ask()
            assert trial is not None
            result = outcome(trial.params)
            reporter = LocalTrialReporter(str(storage), engine.sweep_id, trial.number, metric)
            for step, value in enumerate(result.curve, start=1):
                reporter.report(value, step)
            if result.stopped_at is not None:
                reporter._storage.set_trial_user_attr(
                    reporter._trial_id, STOPPED_ATTR, result.stopped_at
                )
            overrides = [*result.extra_overrides, *space.to_overrides(trial.params)]
            if result.state is not TrialState.FAILED:
                reporter.record_result({metric: result.value}, overrides)
            error = "ValueError: diverged" if result.state is TrialState.FAILED else None
            engine.tell(trial, result.state, result.value, error)
    finally:
        engine.close()
    return engine.sweep_id
