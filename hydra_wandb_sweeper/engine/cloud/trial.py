"""The job's side of a cloud trial: W&B's stop, seen through the sweep folder.

W&B decides early termination on the server from what the run logs; the agent writes the
server's ``stop`` into the sweep folder (:mod:`hydra_wandb_sweeper.engine.cloud.markers`)
and :meth:`CloudTrialReporter.should_stop` turns it into the same graceful stop as the local
engine (the Lightning callback ends the fit at the next validation).

A task that never asks is ended by a watchdog ``stop_grace_seconds`` after the stop: it
raises :class:`TrialStopped` in the task's thread, and a job that still runs another grace
period later in a worker process is killed (never the sweeper's own process). W&B's client
also ends a stopped run from its side (a SIGINT after polling the run's status); inside a
stopped trial that interrupt ends the trial like the stop, not the sweep.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.engine.cloud.markers import (
    result_note,
    stop_request,
    stopped_note,
    write_json,
)
from hydra_wandb_sweeper.engine.outcome import storable_result

log = logging.getLogger(__name__)

# How long an interrupt from W&B's client may precede the agent's stop request.
_STOP_REQUEST_WAIT = 10.0


class TrialStopped(BaseException):
    """Raised in a task that ignored W&B's stop for ``stop_grace_seconds``.

    A BaseException, so that a task's ``except Exception`` does not swallow it."""


class CloudTrialReporter:
    def __init__(self, handle: dict[str, Any]) -> None:
        self.run_id = str(handle["run_id"])
        self.metric: str | None = handle.get("metric")
        self.state_dir = Path(handle["state_dir"])
        self.grace = float(handle.get("stop_grace_seconds", 30.0))
        self.sweeper_pid = int(handle.get("sweeper_pid", -1))
        self.early_terminate = bool(handle.get("early_terminate", True))
        self.last_step: int | None = None
        self.last_value: float | None = None
        self.stopped = False
        self.stopped_at: int | None = None

    # The sweeper's process beats for its agents; a job names no owner (see job.lifeline).
    owner = None

    def mark_started(self, identity: Any) -> None:
        """Nothing to record: W&B sees the run alive through the agent's heartbeats."""

    def beat(self) -> None:
        """Nothing to write, as for :meth:`mark_started`."""

    def report(self, value: float, step: int) -> None:
        """Kept for the trial's result; W&B itself sees the metric the run logs."""
        if self.last_step is not None and step <= self.last_step:
            step = self.last_step + 1
        self.last_step, self.last_value = step, float(value)

    @property
    def can_stop(self) -> bool:
        """Whether the sweep has early termination at all."""
        return self.early_terminate

    def stop_requested(self) -> bool:
        return stop_request(self.state_dir, self.run_id).exists()

    def pruned(self) -> bool:
        """Whether W&B stopped this run (once it says stop, it stays stopped)."""
        if not self.stopped:
            self.stopped = self.stop_requested()
        return self.stopped

    def record_stop(self) -> None:
        """Record that the task ends here, at the last step reported."""
        if self.stopped_at is None or self.stopped_at != self.last_step:
            self.stopped_at = self.last_step
            write_json(stopped_note(self.state_dir, self.run_id), {"step": self.last_step})

    def should_stop(self) -> bool:
        if not self.pruned():
            return False
        self.record_stop()
        return True

    def record_result(self, returned: Any, overrides: list[str]) -> None:
        write_json(
            result_note(self.state_dir, self.run_id),
            {"result": storable_result(returned), "overrides": overrides},
        )

    def _note_stopped(self) -> None:
        self.stopped = True
        self.record_stop()

    def result_so_far(self) -> Any:
        if self.last_value is None:
            return None
        return {self.metric: self.last_value} if self.metric else self.last_value

    # --- running the task -------------------------------------------------------------------
    def run(self, task: Callable[[Any], Any], config: Any) -> Any:
        """The task, ended gracefully or by force when W&B stops its run."""
        try:
            with self._watchdog():
                return task(config)
        except TrialStopped:
            log.warning(f"Run {self.run_id} ignored W&B's stop for {self.grace:.0f} s: ended")
            self._note_stopped()
            return self.result_so_far()
        except KeyboardInterrupt:
            if not self._stop_request_arrives():
                raise
            self._note_stopped()  # W&B's client ended the stopped run; the sweep goes on
            return self.result_so_far()
        finally:
            _finish_wandb_run()

    def _stop_request_arrives(self) -> bool:
        deadline = time.monotonic() + _STOP_REQUEST_WAIT
        while not self.stop_requested():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    @contextmanager
    def _watchdog(self) -> Iterator[None]:
        done = threading.Event()
        task_thread = threading.get_ident()

        def watch() -> None:
            while not self.stop_requested():
                if done.wait(0.5):
                    return
            if done.wait(self.grace):
                return
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(task_thread), ctypes.py_object(TrialStopped)
            )
            if done.wait(self.grace) or os.getpid() == self.sweeper_pid:
                return
            log.error(f"Run {self.run_id} did not end after W&B's stop: killing its job")
            os.kill(os.getpid(), signal.SIGKILL)

        watcher = threading.Thread(target=watch, name="wandb-stop-watchdog", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()


def _finish_wandb_run() -> None:
    # W&B's client polls a live run's stop status and interrupts the process when it is
    # stopped; a finished run stops polling, so the sweeper's process is never interrupted.
    import sys

    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()
