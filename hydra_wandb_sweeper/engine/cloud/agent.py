"""This process as W&B sweep agents: register, heartbeat, take run / stop / exit commands.

A W&B agent runs one run at a time, so a batch of N parallel trials is N agents of this
process (registered as they are first needed). A background thread heartbeats every agent
with a live run every few seconds, also while the launcher runs the batch, so that W&B sees
the runs alive and its ``stop`` commands (hyperband) arrive while they train; a stop is
written to the sweep folder, where the trial's job sees it (:mod:`.markers`).

A lost server is retried; after ``retry_seconds`` without an answer the agents give no new
trials and the sweep ends with a message (running trials finish).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.engine.cloud.graphql import (
    GraphQLClient,
    NotFoundOnServer,
    ServerRefused,
    ServerUnreachable,
)
from hydra_wandb_sweeper.engine.cloud.markers import stop_request

log = logging.getLogger(__name__)

# W&B's own agents heartbeat every 5 seconds (the variable exists for fast tests).
HEARTBEAT_SECONDS = float(os.environ.get("HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS", "5"))
# Between heartbeats of an idle agent that the server has no run for yet.
IDLE_POLL_SECONDS = (0.5, 5.0)


@dataclass
class _Agent:
    id: str
    live_run: str | None = None
    pending: deque[dict[str, Any]] = field(default_factory=deque)


class SweepEnded(Exception):
    """The server ends this agent: the sweep finished, was cancelled, or is gone."""


class AgentPool:
    def __init__(
        self,
        client: GraphQLClient,
        sweep: str,
        project: str,
        entity: str,
        state_dir: Path,
        *,
        retry_seconds: float = 60.0,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._client = client
        self._sweep, self._project, self._entity = sweep, project, entity
        self._state_dir = state_dir
        self._retry_seconds = retry_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._agents: list[_Agent] = []
        self._lock = threading.RLock()
        self.ended: str | None = None  # why no more runs come, once the server said so
        self._unreachable_since: float | None = None
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name="wandb-agent-heartbeat", daemon=True
        )
        self._thread.start()

    # --- the engine's side ------------------------------------------------------------------
    def next_run(self) -> dict[str, Any] | None:
        """The next ``run`` command for an idle agent, or None once the sweep gives no more."""
        wait = IDLE_POLL_SECONDS[0]
        try:
            while self.ended is None:
                agent = self._idle_agent()
                if not agent.pending:
                    self._heartbeat(agent, retry=True)
                if agent.pending:
                    return self._start(agent, agent.pending.popleft())
                if self.ended is None:
                    time.sleep(wait)  # the server has no run for us yet (a paused sweep, bayes)
                    wait = min(wait * 2, IDLE_POLL_SECONDS[1])
        except SweepEnded:
            pass
        return None

    def finished(self, run_id: str) -> None:
        with self._lock:
            for agent in self._agents:
                if agent.live_run == run_id:
                    agent.live_run = None

    def reachable(self) -> bool:
        """False while requests to the server fail (since the last answer)."""
        return self._unreachable_since is None

    def close(self) -> None:
        self._closing.set()

    # --- internals --------------------------------------------------------------------------
    def _idle_agent(self) -> _Agent:
        with self._lock:
            for agent in self._agents:
                if agent.live_run is None:
                    return agent
        agent = _Agent(id=self._call(True, self._client.create_agent, *self._agent_identity()))
        with self._lock:
            self._agents.append(agent)
        return agent

    def _agent_identity(self) -> tuple[str, str, str, str]:
        return socket.gethostname(), self._sweep, self._project, self._entity

    def _start(self, agent: _Agent, command: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            agent.live_run = str(command["run_id"])
        return command

    def _heartbeat(self, agent: _Agent, *, retry: bool) -> None:
        with self._lock:
            live = [agent.live_run] if agent.live_run else []
        commands = self._call(retry, self._client.heartbeat, agent.id, live)
        with self._lock:
            for command in commands or []:
                self._handle(agent, command)

    def _handle(self, agent: _Agent, command: dict[str, Any]) -> None:
        kind = command.get("type")
        if kind in ("run", "resume"):
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

    def _call(self, retry: bool, method: Any, *args: Any) -> Any:
        """One request; a lost server is retried (``retry``: here, else by the next call)
        until ``retry_seconds`` have passed since it last answered."""
        while True:
            try:
                result = method(*args)
            except ServerUnreachable as error:
                now = time.monotonic()
                if self._unreachable_since is None:
                    self._unreachable_since = now
                    log.warning(f"The W&B server does not answer ({error}); retrying")
                if now - self._unreachable_since >= self._retry_seconds:
                    self.ended = (
                        f"the W&B server has not answered for {self._retry_seconds:.0f} s "
                        f"({error}); running trials finished, no new ones start"
                    )
                    raise SweepEnded(self.ended) from None
                if not retry:
                    return None
                time.sleep(min(2.0, self._retry_seconds / 4))
                continue
            except NotFoundOnServer:
                self.ended = "the W&B sweep no longer exists on the server"
                raise SweepEnded(self.ended) from None
            except ServerRefused as error:
                self.ended = f"the W&B server refused the agent: {error}"
                raise SweepEnded(self.ended) from None
            if self._unreachable_since is not None:
                log.info("The W&B server answers again")
                self._unreachable_since = None
            return result

    def _beat(self) -> None:
        while not self._closing.wait(self._heartbeat_seconds):
            with self._lock:
                busy = [agent for agent in self._agents if agent.live_run]
            for agent in busy:
                try:
                    self._heartbeat(agent, retry=False)
                except SweepEnded:
                    return
                except Exception as error:  # a heartbeat must never end the sweep by itself
                    log.debug(f"heartbeat failed: {error!r}")
