"""This process as W&B sweep agents: register, heartbeat, take run / stop / exit commands.

A W&B agent runs one run at a time, so a batch of N parallel trials is N agents of this
process (registered as they are first needed). A background thread heartbeats every agent
with a live run, also while the launcher runs the batch, so that W&B sees the runs alive and
its ``stop`` commands (hyperband) arrive while they train; a stop is written to the sweep
folder, where the trial's job sees it (:mod:`.markers`).

As ``wandb agent`` does, each agent heartbeats at most once every 5 seconds, busy or idle,
and a heartbeat that fails or answers an error gives no commands: the agents go on. The
sweep ends for this process only when W&B says so: an ``exit`` command (the sweep finished
or was cancelled) or a 404 (the sweep is gone). wandb-core retries what W&B's client
retries; a request is never abandoned while the server answers (slowly, or with 429s), so a
run the server scheduled is never lost to a slow answer. After ``retry_seconds`` in which
the server gave no answer at all, or only refusals, the agents give no new trials and the
sweep ends with a message (running trials finish).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.engine.cloud.graphql import (
    GraphQLClient,
    NotFoundOnServer,
    RequestFailed,
    ServerRefused,
    ServerUnreachable,
)
from hydra_wandb_sweeper.engine.cloud.markers import stop_request

log = logging.getLogger(__name__)

# W&B's own agents heartbeat every 5 seconds (the variable exists for fast tests).
HEARTBEAT_SECONDS = float(os.environ.get("HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS", "5"))


@dataclass
class _Agent:
    id: str
    live_run: str | None = None
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    last_beat: float = float("-inf")  # monotonic time of its last heartbeat
    lock: threading.Lock = field(default_factory=threading.Lock)  # one heartbeat at a time


class SweepEnded(Exception):
    """No more runs for this process: the server ended the sweep, or it stopped answering."""


class _InFlight:
    """One request on a daemon thread, so that the caller can wait on it and watch the clock
    without ever abandoning it while the server still answers."""

    def __init__(self, method: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: Exception | None = None
        self._method, self._args = method, args
        threading.Thread(target=self._run, name="wandb-agent-request", daemon=True).start()

    def _run(self) -> None:
        try:
            self.result = self._method(*self._args)
        except Exception as error:  # handed to the waiting caller
            self.error = error
        finally:
            self.done.set()


class AgentPool:
    def __init__(
        self,
        client: GraphQLClient,
        sweep: str,
        project: str,
        entity: str,
        state_dir: Path,
        *,
        probe: Callable[[], int | None],
        retry_seconds: float = 60.0,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._client = client
        self._sweep, self._project, self._entity = sweep, project, entity
        self._state_dir = state_dir
        self._probe = probe
        self._retry_seconds = retry_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._agents: list[_Agent] = []
        self._lock = threading.RLock()
        self.ended: str | None = None  # why no more runs come
        self.lost = False  # ended because the server stopped answering (or only refused)
        now = time.monotonic()
        self._last_heard = now  # any answer, 429s and errors included
        self._last_ok = now  # an answer that was not an error
        self._warned_slow = False
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name="wandb-agent-heartbeat", daemon=True
        )
        self._thread.start()

    # --- the engine's side ------------------------------------------------------------------
    def next_run(self) -> dict[str, Any] | None:
        """The next ``run`` command for an idle agent, or None once the sweep gives no more."""
        try:
            while self.ended is None:
                agent = self._idle_agent()
                if not agent.pending:
                    # the server has no run for us yet (a paused sweep, bayes thinking):
                    # ask again at the agent's next heartbeat, as W&B's agent does
                    wait = agent.last_beat + self._heartbeat_seconds - time.monotonic()
                    if wait > 0 and self._closing.wait(wait):
                        return None
                    self._heartbeat(agent)
                if agent.pending:
                    return self._start(agent, agent.pending.popleft())
        except SweepEnded:
            pass
        return None

    def finished(self, run_id: str) -> None:
        with self._lock:
            for agent in self._agents:
                if agent.live_run == run_id:
                    agent.live_run = None

    def reachable(self) -> bool:
        """False while the server has not answered for a while (the last few seconds)."""
        return time.monotonic() - self._last_heard < min(self._retry_seconds, 15.0)

    def close(self) -> None:
        self._closing.set()

    # --- internals --------------------------------------------------------------------------
    def _idle_agent(self) -> _Agent:
        with self._lock:
            for agent in self._agents:
                if agent.live_run is None:
                    return agent
        while True:
            try:
                agent_id = self._call(self._client.create_agent, *self._agent_identity())
                break
            except RequestFailed:  # an error answer: asked again a heartbeat later
                if self._closing.wait(self._heartbeat_seconds):
                    raise SweepEnded("closing") from None
        agent = _Agent(id=agent_id)
        with self._lock:
            self._agents.append(agent)
        return agent

    def _agent_identity(self) -> tuple[str, str, str, str]:
        return socket.gethostname(), self._sweep, self._project, self._entity

    def _start(self, agent: _Agent, command: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            agent.live_run = str(command["run_id"])
        return command

    def _heartbeat(self, agent: _Agent) -> None:
        with agent.lock:
            with self._lock:
                live = [agent.live_run] if agent.live_run else []
            agent.last_beat = time.monotonic()
            try:
                commands = self._call(self._client.heartbeat, agent.id, live)
            except RequestFailed as error:
                # W&B's agent: a failed heartbeat returns no commands, and the loop goes on
                log.debug(f"heartbeat answered an error: {error}")
                return
            with self._lock:
                for command in commands:
                    self._handle(agent, command)

    def _handle(self, agent: _Agent, command: dict[str, Any]) -> None:
        kind = command.get("type")
        if kind in ("run", "resume") and command.get("run_id"):
            agent.pending.append(command)
        elif kind == "stop":
            run_id = str(command.get("run_id"))
            path = stop_request(self._state_dir, run_id)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(str(time.time()))
                log.info(f"W&B stops run {run_id} (early termination): it ends at its next epoch")
        elif kind == "exit":
            self.ended = "the W&B sweep has no more runs for this agent (finished or cancelled)"
        else:
            log.debug(f"ignored agent command {kind!r}")

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """One request, retried until it gets an answer; raises SweepEnded when the sweep is
        over for this process, RequestFailed for an error answer."""
        while True:
            if self._closing.is_set():
                raise SweepEnded("closing")
            try:
                return self._await(_InFlight(method, args))
            except ServerUnreachable as error:
                # wandb-core gave up on this request (its retries are spent); try again
                # until the server has been silent for retry_seconds
                if self._silent_for() >= self._retry_seconds:
                    self._end_lost(
                        f"the W&B server has not answered for {self._retry_seconds:.0f} s ({error})"
                    )
                self._closing.wait(min(2.0, self._retry_seconds / 4))
            except RequestFailed as error:
                if time.monotonic() - self._last_ok >= self._retry_seconds:
                    self._end_lost(
                        f"the W&B server has answered only errors for "
                        f"{self._retry_seconds:.0f} s ({error})"
                    )
                raise
            except NotFoundOnServer:
                self._end("the W&B sweep no longer exists on the server")
            except ServerRefused as error:
                self._end_lost(f"the W&B server refused the agent: {error}")

    def _await(self, request: _InFlight) -> Any:
        while not request.done.wait(max(0.5, self._retry_seconds - self._silent_for())):
            if self._closing.is_set():
                raise SweepEnded("closing")
            if self._silent_for() < self._retry_seconds:
                continue
            # wandb-core is still retrying: is anybody there? A 429 or a slow server is
            # waited for (the request stands, and so does what the server does with it)
            status = self._probe()
            if status is None or status >= 500:
                why = "no answer" if status is None else f"HTTP {status}"
                self._end_lost(
                    f"the W&B server has not answered for {self._retry_seconds:.0f} s ({why})"
                )
            self._last_heard = time.monotonic()
            if not self._warned_slow:
                self._warned_slow = True
                log.warning(
                    f"The W&B server answers slowly or limits the request rate (HTTP "
                    f"{status}); the agents wait for it, as W&B's agent does"
                )
        if request.error is None:
            self._last_heard = self._last_ok = time.monotonic()
            return request.result
        if isinstance(request.error, (RequestFailed, NotFoundOnServer, ServerRefused)):
            self._last_heard = time.monotonic()
        raise request.error

    def _silent_for(self) -> float:
        return time.monotonic() - self._last_heard

    def _end(self, why: str) -> None:
        if self.ended is None:
            self.ended = why
        raise SweepEnded(self.ended)

    def _end_lost(self, why: str) -> None:
        if self.ended is None:
            self.ended, self.lost = why, True
        raise SweepEnded(self.ended)

    def _beat(self) -> None:
        while not self._closing.wait(min(1.0, self._heartbeat_seconds)):
            with self._lock:
                due = [
                    agent
                    for agent in self._agents
                    if agent.live_run
                    and time.monotonic() - agent.last_beat >= self._heartbeat_seconds
                ]
            for agent in due:
                try:
                    self._heartbeat(agent)
                except SweepEnded:
                    return
                except Exception as error:  # a heartbeat must never end the sweep by itself
                    log.debug(f"heartbeat failed: {error!r}")
