"""Joblib's workers watch the sweeper from the moment they start.

A loky worker lives until it has been idle for 300 s. After a ``kill -9`` of the sweeper, a
worker that had not run a trial yet lived on for minutes, and loky's resource trackers with
it. Hydra's joblib launcher always asks for ``backend="loky"``, so the sweeper registers, in
its own process, a loky backend whose workers run the job's lifeline watch as they start
(:func:`hydra_wandb_sweeper.job.lifeline.watch_sweeper`, as loky's ``initializer``): a worker
whose sweeper is gone and that runs no trial exits within a second.
"""

from __future__ import annotations

import functools
from typing import Any

from hydra_wandb_sweeper.engine.local.liveness import identity
from hydra_wandb_sweeper.job.lifeline import watch_sweeper


def watch_joblib_workers(launcher: Any) -> None:
    """With Hydra's joblib launcher, every loky worker it starts watches this process."""
    if not type(launcher).__module__.startswith("hydra_plugins.hydra_joblib_launcher"):
        return
    from joblib import register_parallel_backend
    from joblib.parallel import LokyBackend

    watched = functools.partial(LokyBackend, initializer=watch_sweeper, initargs=(identity(),))
    register_parallel_backend("loky", watched)
