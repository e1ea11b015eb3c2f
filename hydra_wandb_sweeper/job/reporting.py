"""The running trial's line to its engine: report the metric each step, ask whether to stop.

The sweeper puts a handle to the trial in the job's environment, so this works the same
in-process (basic launcher) and in worker processes (joblib, submitit). Outside a sweep
:func:`report` does nothing and :func:`should_stop` is False, so a task can call them
unconditionally::

    for epoch in range(epochs):
        score = train_one_epoch()
        report(score, step=epoch + 1)
        if should_stop():
            break
"""

from __future__ import annotations

import functools
import os
import sys

from hydra_wandb_sweeper.engine.base import TRIAL_ENV, TrialReporter
from hydra_wandb_sweeper.engine.kinds import trial_reporter

# one reporter per trial in a process: it keeps the trial's last step and its stop
_reporter_for = functools.lru_cache(maxsize=32)(trial_reporter)


def current_trial() -> TrialReporter | None:
    """The reporter of the trial this job runs, or None outside a sweep."""
    handle_json = os.environ.get(TRIAL_ENV)
    if not handle_json:
        return None
    return _reporter_for(handle_json)


def report(value: float, step: int) -> None:
    """Report the sweep metric of the running trial at ``step`` (1, 2, ... e.g. epochs)."""
    trial = current_trial()
    if trial is not None:
        trial.report(value, step)


def should_stop() -> bool:
    """True when the sweep's early termination stops this trial; end it gracefully then."""
    trial = current_trial()
    if trial is None or not trial.should_stop():
        return False
    note_in_wandb_summary(trial)
    return True


def note_in_wandb_summary(trial: TrialReporter) -> None:
    wandb = sys.modules.get("wandb")  # only if the task uses W&B: never import it here
    run = getattr(wandb, "run", None) if wandb is not None else None
    if run is not None:
        run.summary["sweep/stopped_early"] = True
        run.summary["sweep/stopped_at_step"] = trial.last_step
