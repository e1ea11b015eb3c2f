"""A grid sweep's points, made one at a time by index, and which point to run next.

Point ``i`` is the ``i``-th combination in W&B's order (the last parameter varies fastest),
computed from ``i`` alone, so a grid of any size costs nothing until its points run: nothing
is enumerated or written up front. Which point runs next is read from the sweep's trials,
by one process at a time (under the claim lock of :mod:`.claims`), so no point is taken twice:

- each trial holds its point (``grid_point``); the points that have trials are always
  ``0..n-1``, so the next fresh point is ``n``;
- a point is done when one of its trials finished, taken while one runs, and otherwise run
  again only if its last trial ended without fault of its own (an interrupt, a sibling's
  crash: ``rerun``), or its process died fewer than :data:`MAX_PROCESS_DEATHS` times;
- fresh points go first and points to run again last, so that repeated kills of a sweeper
  do not keep landing on the same point.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from hydra_wandb_sweeper.engine.local.sampling import grid_choices
from hydra_wandb_sweeper.engine.local.sweep_format import ENDED_ATTR, POINT_ATTR
from hydra_wandb_sweeper.searchspace.conditions import branches, is_active, parent_name
from hydra_wandb_sweeper.searchspace.space import Parameter, grid_values

# A point whose trial's process died this many times while its task ran (os._exit, a
# segfault, the OOM killer, or kill -9 of a sweeper running the task in-process) is
# recorded failed instead of being run again.
MAX_PROCESS_DEATHS = 3
# How a trial that did not finish ended (ENDED_ATTR): "interrupted" (Ctrl+C, SIGTERM, its
# process gone before its task started), "suspect" (its batch's worker died: run again
# alone), or "process_died" (its process died while its task ran).
RERUN_ENDINGS = ("interrupted", "suspect")


class Grid:
    """The grid's points by index. A conditional space is a list of branches, one per
    assignment of the parameters others depend on (each model), each the product of the
    parameters that apply in it; only those combinations are points, each once."""

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        self.parameters = tuple(parameters)
        self.axes = {param.key: grid_values(param) for param in self.parameters}
        parents = {name for param in self.parameters for name in param.when}
        free = [p for p in self.parameters if parent_name(p.key) not in parents]
        self._branches: list[tuple[dict[str, Any], list[str]]] = []
        self._starts: list[int] = []
        size = 0
        for branch in branches(self.parameters, self.axes):
            keys = [p.key for p in free if is_active(p, branch)]
            self._branches.append((branch, keys))
            self._starts.append(size)
            size += math.prod(len(self.axes[key]) for key in keys)
        self.size = size

    def values(self, index: int) -> dict[str, Any]:
        """The point's values, keyed by parameter key; parameters that do not apply absent."""
        branch_index = bisect.bisect_right(self._starts, index) - 1
        branch, keys = self._branches[branch_index]
        rest = index - self._starts[branch_index]
        found = dict(branch)
        for key in reversed(keys):  # the last parameter varies fastest, as in W&B's grid
            rest, position = divmod(rest, len(self.axes[key]))
            found[key] = self.axes[key][position]
        return {p.key: found[p.key] for p in self.parameters if p.key in found}

    def optuna_params(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """The point as Optuna params and their distributions, as the sampler would store them."""
        params, distributions = {}, {}
        for key, value in self.values(index).items():
            axis = self.axes[key]
            choices = grid_choices(axis)
            params[key] = choices[_position(axis, value)]
            distributions[key] = CategoricalDistribution(choices)
        return params, distributions


def _position(axis: Sequence[Any], value: Any) -> int:
    for position, candidate in enumerate(axis):
        if candidate == value and type(candidate) is type(value):
            return position
    return axis.index(value)


@dataclass
class PointHistory:
    trials: list[FrozenTrial] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return any(trial.state is OptunaState.COMPLETE for trial in self.trials)

    @property
    def running(self) -> bool:
        return any(trial.state is OptunaState.RUNNING for trial in self.trials)

    @property
    def deaths(self) -> int:
        return sum(trial.user_attrs.get(ENDED_ATTR) == "process_died" for trial in self.trials)

    @property
    def will_rerun(self) -> bool:
        if self.done or self.running or not self.trials:
            return False
        last = max(self.trials, key=lambda trial: trial.number)
        ended = last.user_attrs.get(ENDED_ATTR)
        if ended in RERUN_ENDINGS:
            return True
        return ended == "process_died" and self.deaths < MAX_PROCESS_DEATHS

    @property
    def runs_alone(self) -> bool:
        """Run again after a worker died in its batch: alone, so that a crash is its own."""
        return any(
            trial.user_attrs.get(ENDED_ATTR) in ("suspect", "process_died") for trial in self.trials
        )

    def final(self) -> FrozenTrial:
        """The trial that stands for the point: finished, else running, else the last."""
        for state in (OptunaState.COMPLETE, OptunaState.RUNNING):
            for trial in self.trials:
                if trial.state is state:
                    return trial
        return max(self.trials, key=lambda trial: trial.number)


def histories(trials: Iterable[FrozenTrial]) -> dict[int, PointHistory]:
    found: dict[int, PointHistory] = {}
    for trial in trials:
        point = trial.user_attrs.get(POINT_ATTR)
        if trial.state is OptunaState.WAITING or not isinstance(point, int):
            continue
        found.setdefault(point, PointHistory()).trials.append(trial)
    return found


def next_point(points: dict[int, PointHistory], size: int) -> int | None:
    """The point to run next, or None when every point is done, taken or given up."""
    fresh = max(points, default=-1) + 1
    if fresh < size:
        return fresh
    for point in sorted(points):
        if points[point].will_rerun:
            return point
    return None
