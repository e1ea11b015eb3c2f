"""The test server's scheduler is W&B's own: the ``sweeps`` package, asked as W&B's server asks it.

The server keeps runs and sweeps; which run comes next (grid, random, bayes) and which
running runs hyperband stops are ``sweeps.next_run`` and ``sweeps.stop_runs`` over the
sweep's runs as W&B's scheduler reads them (config as stored, so nested values and grid
dedup by config work as on W&B). ``sweeps`` runs in a worker process of its own virtual
environment (:mod:`tests.support.sweeps_venv`), started in the background when the first
sweep is created, so that its seconds of imports overlap the client's own start.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from tests.support.sweeps_venv import SweepsError, SweepsProcess

if TYPE_CHECKING:
    from tests.support.wandb_server.state import RunRecord

# Run states W&B's scheduler knows; anything else a client sent counts as running.
_STATES = {"pending", "running", "finished", "killed", "crashed", "failed", "preempted"}
# How a refusal of W&B's scheduler starts, so the server can answer it as W&B does (HTTP 400).
REFUSAL = "sweep scheduler error: "


class SchedulerRefusal(Exception):
    """W&B's scheduler refused the sweep's config or runs; the message is its own."""


class Scheduler:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._process: SweepsProcess | None = None
        self._failure: BaseException | None = None
        self._ready = threading.Event()
        self._starting = threading.Lock()
        self._started = False

    def warm(self) -> None:
        """Start the worker in the background, once."""
        with self._starting:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._start, name="sweeps-worker-start", daemon=True).start()

    def _start(self) -> None:
        try:
            self._process = SweepsProcess(seed=self._seed)
        except BaseException as error:  # reported to every request instead
            self._failure = error
        finally:
            self._ready.set()

    def _worker(self) -> SweepsProcess:
        self.warm()
        self._ready.wait()
        if self._process is None:
            raise RuntimeError(f"W&B's scheduler did not start: {self._failure}")
        return self._process

    def close(self) -> None:
        """End the worker (the server's own end does it too: the worker's stdin closes)."""
        if self._started:
            self._ready.wait()
        if self._process is not None:
            self._process.close()

    def next_run(self, config: dict[str, Any], runs: list[RunRecord]) -> dict[str, Any] | None:
        """The next run's config (``{name: {"value": v}}``); None: the grid is done."""
        try:
            return self._worker().next_run(config, _documents(config, runs))
        except SweepsError as error:
            raise SchedulerRefusal(f"{REFUSAL}{error}") from None

    def stop_runs(self, config: dict[str, Any], runs: list[RunRecord]) -> list[str]:
        """Names of the running runs W&B's early termination stops now."""
        try:
            return self._worker().stop_runs(config, _documents(config, runs))
        except SweepsError as error:
            raise SchedulerRefusal(f"{REFUSAL}{error}") from None


def _documents(config: dict[str, Any], runs: list[RunRecord]) -> list[dict[str, Any]]:
    """The runs as W&B's scheduler reads them; history rows only where the metric is."""
    metric = (config.get("metric") or {}).get("name")
    return [
        {
            "name": run.name,
            "state": run.state if run.state in _STATES else "running",
            "config": run.config,
            "summaryMetrics": run.summary,
            "history": [{metric: row[metric]} for row in run.history if metric in row]
            if metric
            else [],
            "stopped": run.stopped,
            "shouldStop": run.stopped,
        }
        for run in runs
    ]
