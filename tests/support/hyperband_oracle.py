"""Generated learning curves run through two hyperband rules: ours and W&B's own.

Ours is the local engine's pruner in a real (in-memory) Optuna study, asked after each
report as a trial's job asks it; W&B's is ``sweeps.stop_runs`` in W&B's scheduler
(:class:`~tests.support.sweeps_venv.SweepsProcess`), asked as W&B's server asks it. Each
gives, per run, the number of reports after which the run was stopped (None: ran to the end).

Curves: ``quality * (1 - exp(-t / tau)) - overfit * t + noise`` with a per-run ceiling, speed,
decline and noise, so curves cross (slow starters) and the value at a band is not always the
best so far (``strict`` matters). Values are "higher is better"; a ``minimize`` sweep sees ``1 - value``.

Two schedules:

- one at a time: run ``i`` starts once run ``i - 1`` ended;
- ``parallel`` at once: each run's epochs take their own time; whenever a run reports, W&B's
  server (on its next heartbeat) judges every running run, and our engine judges the run that
  reported.
"""

from __future__ import annotations

import heapq
import math
import random
from typing import Any

import optuna

from hydra_wandb_sweeper.engine.local.hyperband import build_pruner
from tests.support.sweeps_venv import SweepsProcess

optuna.logging.set_verbosity(optuna.logging.WARNING)  # a study per schedule: no line each

METRIC = "score"
Stops = list[int | None]


def generated_curves(seed: int, runs: int = 12, epochs: int = 12) -> list[list[float]]:
    rng = random.Random(seed)
    curves = []
    for _ in range(runs):
        quality = rng.uniform(0.3, 1.0)
        tau = rng.uniform(0.5, 6.0)
        noise = rng.uniform(0.0, 0.1)
        overfit = rng.choice([0.0, rng.uniform(0.0, 0.04)])  # some runs decline late
        curves.append(
            [
                quality * (1.0 - math.exp(-t / tau)) - overfit * t + rng.gauss(0.0, noise)
                for t in range(1, epochs + 1)
            ]
        )
    return curves


def epoch_times(seed: int, runs: int) -> list[float]:
    """Each run's epoch duration, for the parallel schedule."""
    rng = random.Random(seed + 10_000)
    return [rng.uniform(0.5, 2.0) for _ in range(runs)]


def sweep_config(early_terminate: dict[str, Any], goal: str) -> dict[str, Any]:
    return {
        "method": "random",
        "metric": {"name": METRIC, "goal": goal},
        "early_terminate": early_terminate,
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }


def _signed(value: float, goal: str) -> float:
    return value if goal == "maximize" else 1.0 - value


def _wandb_run(index: int, values: list[float], state: str) -> dict[str, Any]:
    return {
        "name": f"run{index}",
        "state": state,
        "history": [{METRIC: value, "_step": step} for step, value in enumerate(values)],
    }


# --- ours ------------------------------------------------------------------------------------
class LocalRule:
    """The local engine's pruner over an in-memory Optuna study of the sweep."""

    def __init__(self, early_terminate: dict[str, Any], goal: str) -> None:
        self.goal = goal
        self.study = optuna.create_study(
            direction=goal,
            sampler=optuna.samplers.RandomSampler(seed=0),
            pruner=build_pruner(early_terminate),
        )

    def start(self) -> optuna.Trial:
        return self.study.ask()

    def report(self, trial: optuna.Trial, value: float, step: int) -> bool:
        """Report the run's ``step``-th value; whether the rule stops it now."""
        trial.report(_signed(value, self.goal), step)
        return trial.should_prune()

    def end(self, trial: optuna.Trial, stopped: bool, last: float) -> None:
        state = optuna.trial.TrialState.PRUNED if stopped else optuna.trial.TrialState.COMPLETE
        self.study.tell(trial, None if stopped else _signed(last, self.goal), state=state)


def local_one_at_a_time(
    early_terminate: dict[str, Any], goal: str, curves: list[list[float]]
) -> Stops:
    rule = LocalRule(early_terminate, goal)
    stops: Stops = []
    for curve in curves:
        trial = rule.start()
        stop = None
        for step, value in enumerate(curve, start=1):
            if rule.report(trial, value, step):
                stop = step
                break
        rule.end(trial, stop is not None, curve[(stop or len(curve)) - 1])
        stops.append(stop)
    return stops


# --- W&B's -----------------------------------------------------------------------------------
def wandb_one_at_a_time(
    sweeps: SweepsProcess, early_terminate: dict[str, Any], goal: str, curves: list[list[float]]
) -> Stops:
    """W&B's decision after each report of each run, the runs before it ended as they ended."""
    config = sweep_config(early_terminate, goal)
    ended: list[dict[str, Any]] = []
    stops: Stops = []
    for index, curve in enumerate(curves):
        signed = [_signed(value, goal) for value in curve]
        runs_list = [
            [*ended, _wandb_run(index, signed[:step], "running")]
            for step in range(1, len(curve) + 1)
        ]
        answers = sweeps.stop_runs_many(config, runs_list)
        stop = next((step for step, names in enumerate(answers, 1) if f"run{index}" in names), None)
        stops.append(stop)
        # a stopped run's history stays in the sweep, as W&B keeps it
        ended.append(_wandb_run(index, signed[: stop or len(curve)], "finished"))
    return stops


# --- side by side, several at once ------------------------------------------------------------
def _events(curves: list[list[float]], times: list[float], parallel: int):
    """Reports in time order with ``parallel`` runs at once: yields (run, step) and receives
    whether the run ends there; a run's successor starts when it ends."""
    clock: list[tuple[float, int, int]] = []  # (time, run, step)
    waiting = list(range(len(curves)))[::-1]

    def start(at: float) -> None:
        if waiting:
            run = waiting.pop()
            heapq.heappush(clock, (at + times[run], run, 1))

    for _ in range(parallel):
        start(0.0)
    while clock:
        at, run, step = heapq.heappop(clock)
        ended = yield run, step
        if ended or step == len(curves[run]):
            start(at)
        else:
            heapq.heappush(clock, (at + times[run], run, step + 1))


def local_parallel(
    early_terminate: dict[str, Any],
    goal: str,
    curves: list[list[float]],
    times: list[float],
    parallel: int,
) -> Stops:
    rule = LocalRule(early_terminate, goal)
    trials: dict[int, optuna.Trial] = {}
    stops: Stops = [None] * len(curves)
    events = _events(curves, times, parallel)
    ended = None
    try:
        while True:
            run, step = events.send(ended)
            trial = trials.setdefault(run, rule.start())
            stopped = rule.report(trial, curves[run][step - 1], step)
            ended = stopped or step == len(curves[run])
            if stopped:
                stops[run] = step
            if ended:
                rule.end(trial, stopped, curves[run][step - 1])
    except StopIteration:
        return stops


def wandb_parallel(
    sweeps: SweepsProcess,
    early_terminate: dict[str, Any],
    goal: str,
    curves: list[list[float]],
    times: list[float],
    parallel: int,
) -> Stops:
    """After each report, W&B judges every running run (the one that reported included, at
    its last report too, as ours does): a run stopped between two of its reports ends at its
    next epoch's end, stopped after the reports it had."""
    config = sweep_config(early_terminate, goal)
    signed = [[_signed(value, goal) for value in curve] for curve in curves]
    reported: dict[int, int] = {}
    running: set[int] = set()
    stops: Stops = [None] * len(curves)
    events = _events(curves, times, parallel)
    ended = None
    try:
        while True:
            run, step = events.send(ended)
            if stops[run] is not None:  # stopped since its last report: it ends now
                running.discard(run)
                ended = True
                continue
            reported[run] = step
            running.add(run)
            runs = [
                _wandb_run(r, signed[r][: reported[r]], "running" if r in running else "finished")
                for r in reported
            ]
            for name in sweeps.stop_runs(config, runs):
                stopped = int(name.removeprefix("run"))
                stops[stopped] = stops[stopped] or reported[stopped]
            ended = stops[run] is not None or step == len(curves[run])
            if ended:
                running.discard(run)
    except StopIteration:
        return stops
