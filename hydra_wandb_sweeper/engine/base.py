"""The one small interface the sweep loop drives; it never knows which engine is behind it."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from hydra_wandb_sweeper.searchspace.space import Parameter

_ID_ALPHABET = string.ascii_lowercase + string.digits
# The job's handle to its trial (JSON), read by hydra_wandb_sweeper.job.reporting in the job.
TRIAL_ENV = "HYDRA_WANDB_SWEEPER_TRIAL"
# Set on a trial by the job when early termination stopped it (the last step reported).
STOPPED_ATTR = "stopped_at_step"
# Set on a trial by the job when the task returned: what it returned, so that a launcher
# failure after the job finished (a sibling worker killed, a cluster error) loses nothing.
RESULT_ATTR = "job_result"
# Set with it: the task overrides Hydra applied to the job (what re-runs the trial).
OVERRIDES_ATTR = "job_overrides"
# In a conditional sweep's run config: the W&B names of the parameters that applied to it.
ACTIVE_KEY = "sweep_active_parameters"


def new_wandb_id(length: int = 8) -> str:
    """A random id shaped like W&B's sweep and run ids (lowercase letters and digits)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


class TrialReporter(Protocol):
    """A running trial's line to its engine, on the job's side (each engine has its own:
    ``engine.local.trial``, ``engine.cloud.trial``; ``engine.kinds`` picks it)."""

    # the last step reported (None: none yet)
    last_step: int | None

    @property
    def metric(self) -> str | None:
        """The sweep metric's name (None: the task returns a plain number)."""
        ...

    @property
    def owner(self) -> Mapping[str, Any] | None:
        """The sweeper process the job must watch, when the job runs in a worker (None: none)."""
        ...

    def report(self, value: float, step: int) -> None: ...

    @property
    def can_stop(self) -> bool:
        """Whether the sweep has early termination at all."""
        ...

    def pruned(self) -> bool:
        """Whether early termination stops this trial (it stays stopped once it does)."""
        ...

    def record_stop(self) -> None:
        """Record that the task ends here, at the last step reported."""
        ...

    def should_stop(self) -> bool: ...

    def mark_started(self, process: dict[str, Any]) -> None: ...

    def beat(self) -> None: ...

    def run(self, task: Callable[[Any], Any], config: Any) -> Any:
        """The task, run as the engine runs it (a cloud run may be stopped by force)."""
        ...

    def record_result(self, returned: Any, overrides: list[str]) -> None: ...


class TrialState(str, Enum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    # ended by early termination: its metric counts, it is not a failure
    STOPPED = "stopped"


@dataclass(frozen=True)
class Trial:
    number: int  # unique in the sweep, over every process that joined it
    run_id: str  # the W&B run this trial is
    params: Mapping[str, Any]  # W&B values keyed by Hydra override key, active ones only
    # The values as W&B's agent locks them in the run's wandb.config: by top-level W&B name,
    # a nested ``parameters:`` block as one nested dict, as the server's run command sent it
    # (W&B's scheduler reads nested values back from there). None: each value under its W&B
    # parameter name.
    locked: Mapping[str, Any] | None = None
    # Parameters of a conditional space that do not apply to this trial: no override ever.
    # The value is what W&B's server proposed for it (cloud engine: it stays in ``locked``,
    # W&B's flattened point), or None where nothing was drawn (embedded engine).
    inactive: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialRecord:
    number: int
    run_id: str
    state: TrialState
    value: float | None
    params: Mapping[str, Any]
    error: str | None = None
    # the task overrides Hydra applied to the trial's job, as its job recorded them
    overrides: tuple[str, ...] | None = None
    # how many times the job reported its metric for early termination (None: unknown)
    reports: int | None = None
    # failed without fault of its own (interrupted, its process died): its grid point runs again
    will_rerun: bool = False


@dataclass(frozen=True)
class SweepDefinition:
    """Everything that defines a sweep: kept by the engine so that joining processes share it."""

    method: str
    metric_name: str | None
    goal: str  # minimize | maximize
    target: float | None
    parameters: tuple[tuple[str, str, Mapping[str, Any]], ...]  # (key, wandb_name, spec)
    early_terminate: Mapping[str, Any] | None = None
    run_cap: int | None = None
    name: str | None = None
    description: str | None = None
    # the script that ran the sweep (W&B's `program`), for the command that re-runs a trial
    program: str | None = None
    # conditional parameters: key -> {parameter: [values with which it applies]}
    conditions: Mapping[str, Mapping[str, list[Any]]] = field(default_factory=dict)

    def reached_target(self, value: float | None) -> bool:
        if self.target is None or value is None:
            return False
        return value >= self.target if self.goal == "maximize" else value <= self.target


def stored_parameters(definition: SweepDefinition) -> tuple[Parameter, ...]:
    """The sweep's parameters as stored, conditions included."""
    return tuple(
        Parameter(key=key, wandb_name=name, spec=spec, when=definition.conditions.get(key, {}))
        for key, name, spec in definition.parameters
    )


class Engine(Protocol):
    sweep_id: str
    definition: SweepDefinition
    location: str  # where the sweep lives, shown to the user

    def ask(self) -> Trial | None:
        """The next trial, or None when the sweep has ended (grid exhausted, run_cap reached)."""

    def tell(self, trial: Trial, state: TrialState, value: float | None, error: str | None) -> None:
        """Record how a trial ended."""

    def release_unfinished(self, reason: str, *, worker_died: bool = False) -> list[TrialRecord]:
        """End every trial asked for here and not told (an interrupt, a launcher failure):
        finished with the result its job recorded, else failed with ``reason``. Grid points
        run again; when a worker died (``worker_died``), one at a time, so that a point whose
        task kills its process is found and given up after a few deaths."""

    def records(self) -> list[TrialRecord]:
        """Every trial of the sweep, from every process, by number; a grid sweep has one
        record per grid point that has run, with its final state."""

    def job_environment(self, trial: Trial) -> dict[str, str]:
        """Extra environment for the trial's job, so that it can report to this engine.

        This is also where an engine whose sweep exists on the W&B server binds the run to
        it (``WANDB_SWEEP_ID``); an engine whose sweep the server does not know must not."""

    def stop_requested(self) -> bool:
        """True once someone asked the sweep to stop (``hydra-wandb-sweeper stop``): processes
        finish the trials they run and ask for no more."""

    def close(self) -> None: ...
