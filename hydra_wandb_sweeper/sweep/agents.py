"""Parallel agents: ``hydra.sweeper.agents: N`` runs the sweep in N processes that each join it.

Hydra's launchers are synchronous per batch: a batch of parallel trials ends when its
slowest trial does, and with hyperband (trials stopped at the first bracket beside trials run
to the end) the other workers sit idle meanwhile. Like ``wandb agent`` started N times, each
agent here is a whole sweeper process on the same sweep: it asks for one trial, launches it
through the configured launcher, records its result the moment it returns, and asks again,
whatever the other agents are doing. Everything the sweep loop guarantees holds because each
agent *is* the sweep loop: the storage keeps run_cap and the grid exact across processes,
``metric.target`` is read from the shared records, and ``count`` is shared through a ticket
file, so that N agents run ``count`` trials between them. An agent gives its ticket back
for a trial it releases unfinished (an interrupt: the trial runs again on resume), so that
after an interrupt ``count`` minus the tickets taken is what the sweep still owes.

The process that the user started creates the sweep, starts the agents (the same command
line, joined to the sweep), waits for them, and writes the results. Ctrl+C and SIGTERM are
passed on to every agent: each releases its trial in flight, as a single sweeper does, and
the parent alone prints the resume command, with the count that is left. One agent failing
(the failure budget, a bad launcher) stops the others.

``trials_per_gpu: k`` gives agent ``i`` the visible GPU ``i // k`` (round-robin) through
``CUDA_VISIBLE_DEVICES``, so that k trials share each GPU and no two GPUs' trials mix.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.engine.base import Engine, Trial, TrialRecord, TrialState
from hydra_wandb_sweeper.errors import SweepConfigError, SweepRuntimeError

log = logging.getLogger(__name__)

# Set in each agent's environment: its index and the shared ticket file (JSON).
AGENT_ENV = "HYDRA_WANDB_SWEEPER_AGENT"
# How long the agents get to release their trials after an interrupt before they are killed.
STOP_GRACE_SECONDS = 60.0
_REPLACED_KEYS = ("hydra.sweeper.sweep_id=", "hydra.sweep.dir=", "hydra.sweeper.storage=")


def agent_role() -> dict[str, Any] | None:
    """This process's place among the agents, or None when the user started it."""
    raw = os.environ.get(AGENT_ENV)
    return None if raw is None else json.loads(raw)


def visible_gpus(environment: dict[str, str]) -> list[str]:
    """The GPUs this process may hand out: ``CUDA_VISIBLE_DEVICES``, else what nvidia-smi lists."""
    listed = environment.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [device.strip() for device in listed.split(",") if device.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    query = ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"]
    found = subprocess.run(query, capture_output=True, text=True, check=False)
    return [line.strip() for line in found.stdout.splitlines() if line.strip()]


def gpu_for(agent: int, trials_per_gpu: int, gpus: Sequence[str]) -> str:
    """Agents 0..k-1 share the first GPU, the next k the second, and so on, round-robin."""
    return gpus[(agent // trials_per_gpu) % len(gpus)]


def agent_command(argv: Sequence[str], sweep_id: str, sweep_dir: Path, storage: str) -> list[str]:
    """The user's command line, joined to the sweep and writing into the same sweep folder."""
    kept = [arg for arg in argv[1:] if not arg.startswith(_REPLACED_KEYS)]
    return [
        sys.executable,
        argv[0],
        *kept,
        f"hydra.sweeper.sweep_id={sweep_id}",
        f"hydra.sweep.dir={sweep_dir}",
        f"hydra.sweeper.storage={storage}",
    ]


class TicketedEngine:
    """An agent's engine: a trial is asked for only with a ticket from the shared file, so
    that all agents together run ``count`` trials."""

    def __init__(self, engine: Engine, tickets: Path, count: int) -> None:
        self._engine = engine
        self._tickets = tickets
        self._count = count
        self._ticketed: set[int] = set()  # the trials this agent holds a ticket for

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def ask(self) -> Trial | None:
        if not take_ticket(self._tickets, self._count):
            return None
        trial = None
        try:
            trial = self._engine.ask()
        finally:
            if trial is None:  # nothing to run (or interrupted while waiting): not spent
                give_back_ticket(self._tickets)
        if trial is not None:
            self._ticketed.add(trial.number)
        return trial

    def release_unfinished(self, reason: str, *, worker_died: bool = False) -> list[TrialRecord]:
        released = self._engine.release_unfinished(reason, worker_died=worker_died)
        for record in released:
            # cut short: it runs again on resume. A trial the engine had claimed when an
            # interrupt ended ask() never reached this agent: its ticket went back there.
            if record.state is TrialState.FAILED and record.number in self._ticketed:
                self._ticketed.discard(record.number)
                give_back_ticket(self._tickets)
        return released


def take_ticket(path: Path, count: int) -> bool:
    """Atomically take one of ``count`` tickets (an exclusive lock on the file)."""
    return _update_tickets(path, lambda taken: taken + 1 if taken < count else None)


def give_back_ticket(path: Path) -> None:
    _update_tickets(path, lambda taken: max(0, taken - 1))


def tickets_taken(path: Path) -> int:
    return int(path.read_text().strip() or 0)


def _update_tickets(path: Path, change: Callable[[int], int | None]) -> bool:
    with path.open("a+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        new = change(int(file.read().strip() or 0))
        if new is None:
            return False
        file.seek(0)
        file.truncate()
        file.write(str(new))
        file.flush()
        return True


def with_agent_tickets(engine: Engine) -> Engine:
    """In an agent with a shared ``count``, the engine behind tickets; else ``engine``."""
    role = agent_role()
    if role is None or role.get("count") is None:
        return engine
    return TicketedEngine(engine, Path(role["tickets"]), int(role["count"]))  # type: ignore[return-value]


def gpus_for_agents(trials_per_gpu: int | None) -> list[str]:
    """The GPUs ``trials_per_gpu`` hands out; none visible is an error, raised before the
    sweep is created so that no empty sweep is left behind."""
    if trials_per_gpu is None:
        return []
    gpus = visible_gpus(dict(os.environ))
    if not gpus:
        raise SweepConfigError(
            "hydra.sweeper.trials_per_gpu",
            f"got {trials_per_gpu}, but no GPU is visible (CUDA_VISIBLE_DEVICES is unset "
            "and nvidia-smi lists none). Remove it to run the agents without GPUs",
        )
    return gpus


class Agents:
    """The agents of one sweep, started by the process the user started."""

    def __init__(self, agents: int, trials_per_gpu: int | None, count: int | None) -> None:
        self.agents = agents
        self.trials_per_gpu = trials_per_gpu
        self.count = count
        self._tickets: Path | None = None

    def run(self, sweep_id: str, sweep_dir: Path, storage: str) -> None:
        """Start the agents on the sweep and wait for all of them."""
        gpus = gpus_for_agents(self.trials_per_gpu)
        self._tickets = sweep_dir / ".agent-tickets"
        self._tickets.write_text("0")
        command = agent_command(sys.argv, sweep_id, sweep_dir, storage)
        processes = []
        for index in range(self.agents):
            environment = dict(os.environ)
            role = {"index": index, "tickets": str(self._tickets), "count": self.count}
            environment[AGENT_ENV] = json.dumps(role)
            if gpus:
                assert self.trials_per_gpu is not None
                environment["CUDA_VISIBLE_DEVICES"] = gpu_for(index, self.trials_per_gpu, gpus)
            # its own session: Ctrl+C reaches the agents once, passed on by this process
            processes.append(subprocess.Popen(command, env=environment, start_new_session=True))
        where = f" on GPUs {', '.join(gpus)}, {self.trials_per_gpu} per GPU" if gpus else ""
        log.info(
            f"{self.agents} agents run the sweep, each taking a new trial as soon as one ends"
            f"{where}"
        )
        try:
            _wait_all(processes)
        except BaseException:
            _stop(processes)
            raise

    def left(self) -> int | None:
        """What the sweep still owes of ``count`` once the agents have ended."""
        if self.count is None or self._tickets is None:
            return self.count
        return max(0, self.count - tickets_taken(self._tickets))


def _wait_all(processes: list[subprocess.Popen[bytes]]) -> None:
    running = list(processes)
    while running:
        for process in list(running):
            code = process.poll()
            if code is None:
                continue
            running.remove(process)
            if code != 0:
                _stop(running)
                raise SweepRuntimeError(
                    f"an agent (pid {process.pid}) stopped with exit code {code}: its error is "
                    "above. The other agents were stopped; finished trials are kept"
                )
        time.sleep(0.2)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each agent (it releases its trial in flight), SIGKILL any that hangs."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
