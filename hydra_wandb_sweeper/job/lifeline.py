"""The job's side of a trial's life.

When its task starts, the job names the process that runs it on the trial, so that a sweeper
that dies mid-trial leaves a trial that the next process can judge: killed with its task
(run it again), or still running in a worker (leave it be). In a worker process (joblib,
submitit) the job also beats while its task runs, and watches the sweeper that claimed the
trial: when that sweeper is gone, the worker finishes the trial it is running (its result is
recorded as usual and kept by whoever resumes the sweep) and then exits, instead of living
on with nobody to give it work. An idle worker whose sweeper is gone exits at once, and a
joblib worker watches from the moment it starts (:func:`watch_sweeper`), not from its
first trial.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from hydra_wandb_sweeper.engine.base import TrialReporter
from hydra_wandb_sweeper.engine.local.liveness import HEARTBEAT_SECONDS, identity, is_gone
from hydra_wandb_sweeper.job.reporting import current_trial

log = logging.getLogger(__name__)
_WATCH_SECONDS = 1.0


class _Watch:
    """One per worker process: beats for the trial it runs, ends it when its sweeper is gone."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.trial: TrialReporter | None = None
        self.orphaned = False
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="trial-lifeline", daemon=True).start()

    def _run(self) -> None:
        last_beat = time.monotonic()
        while True:
            time.sleep(_WATCH_SECONDS)
            with self._lock:
                trial = self.trial
                if is_gone(self.owner):
                    self.orphaned = True
                    if trial is None:
                        _exit_worker("its sweeper is gone")
            if trial is not None and time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                try:
                    trial.beat()
                except Exception as error:  # the storage is failing: the task goes on
                    log.debug(f"job heartbeat not written: {error!r}")


_watch: _Watch | None = None


@contextlib.contextmanager
def trial_lifeline() -> Iterator[None]:
    """Around a job's task: see the module docstring. Outside a sweep it does nothing."""
    global _watch
    trial = current_trial()
    if trial is None:
        yield
        return
    trial.mark_started(identity())
    owner = trial.owner
    if not isinstance(owner, dict) or owner.get("pid") == os.getpid():
        yield  # the task runs in the sweeper's own process, which beats for it
        return
    if _watch is None or _watch.owner != owner:
        _watch = _Watch(owner)
    with _watch._lock:
        _watch.trial = trial
    try:
        yield
    finally:
        with _watch._lock:
            _watch.trial = None
            if _watch.orphaned:
                _exit_worker("its trial is done and its sweeper is gone")


def watch_sweeper(owner: dict[str, Any]) -> None:
    """A joblib worker's first act (loky's ``initializer``): watch the sweeper that started
    it, so that it exits as soon as that sweeper is gone, even before its first trial."""
    global _watch
    if _watch is None:
        _watch = _Watch(owner)


def _exit_worker(why: str) -> None:
    log.warning(f"Worker {os.getpid()} exits: {why}")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)
