"""What the test W&B server remembers: runs, sweeps, agents; W&B's own scheduler decides.

Kept in memory, behind one lock; tests read it through ``GET /_state``. An agent's heartbeat
is answered as W&B's server answers it: ``run`` commands from W&B's scheduler (``sweeps``,
see :mod:`.scheduler`) over the sweep's runs, ``stop`` for the running runs its hyperband
stops, and ``exit`` once the sweep is finished (grid done, ``run_cap`` reached) or cancelled.
"""

from __future__ import annotations

import base64
import json
import random
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.support.wandb_server.scheduler import Scheduler

ENTITY = "tester"
_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int = 8) -> str:
    return "".join(random.choice(_ALPHABET) for _ in range(length))


class NotFound(Exception):
    """Answered as HTTP 404, as W&B answers a heartbeat or query for an unknown sweep."""


@dataclass
class RunRecord:
    name: str
    project: str
    entity: str = ENTITY
    config: dict[str, Any] = field(default_factory=dict)
    sweep: str | None = None
    state: str = "running"
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    exitcode: int | None = None
    files: list[str] = field(default_factory=list)
    display_name: str | None = None
    upserts: int = 0


@dataclass
class SweepRecord:
    name: str
    project: str
    entity: str
    config: dict[str, Any]
    config_yaml: str
    state: str = "RUNNING"
    description: str | None = None
    display_name: str | None = None
    scheduled: list[str] = field(default_factory=list)  # run names, in order
    prior_runs: list[str] = field(default_factory=list)
    pending_stops: set[str] = field(default_factory=set)
    created_at: float = field(default_factory=time.time)
    number: int = 0  # the database id behind the node id

    @property
    def node_id(self) -> str:
        """W&B's GraphQL node id (``Sweep.id``): base64 of ``Sweep:<number>``, never the name.
        W&B's own code passes it, not the name, to update a sweep (``upsertSweep(id:)``)."""
        return base64.b64encode(f"Sweep:{self.number}".encode()).decode()


@dataclass
class AgentRecord:
    id: str
    sweep: str
    host: str
    runs: list[str] = field(default_factory=list)
    heartbeats: int = 0


class ServerState:
    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.runs: dict[tuple[str, str], RunRecord] = {}
        self.sweeps: dict[str, SweepRecord] = {}
        self.agents: dict[str, AgentRecord] = {}
        self.requests: list[dict[str, Any]] = []
        self.uploads: list[str] = []
        self.offline = False  # a lost network: every request fails
        self.scheduler = Scheduler(seed)

    # --- runs -----------------------------------------------------------------------------
    def upsert_run(self, project: str | None, name: str, **fields: Any) -> RunRecord:
        project = project or "uncategorized"
        sweep_name = fields.pop("sweep", None)
        with self.lock:
            run = self.runs.get((project, name))
            if run is None:
                run = self._run_by_name(name) or RunRecord(name=name, project=project)
                self.runs[(run.project, name)] = run
            if sweep_name:
                sweep = self.sweep(sweep_name)  # NotFound: W&B refuses unknown sweeps
                run.sweep = sweep.name
            for key, value in fields.items():
                if value is not None:
                    setattr(run, key, value)
            run.upserts += 1
            return run

    def _run_by_name(self, name: str) -> RunRecord | None:
        return next((run for (_, n), run in self.runs.items() if n == name), None)

    def run(self, project: str | None, name: str) -> RunRecord | None:
        with self.lock:
            return self.runs.get((project or "uncategorized", name)) or self._run_by_name(name)

    def file_stream(self, project: str, name: str, body: dict[str, Any]) -> None:
        with self.lock:
            run = self.run(project, name) or self.upsert_run(project, name)
            files = body.get("files") or {}
            history = files.get("wandb-history.jsonl") or {}
            for line in history.get("content") or []:
                run.history.append(json.loads(line))
            summary = files.get("wandb-summary.json") or {}
            for line in summary.get("content") or []:
                run.summary.update(json.loads(line))
            if body.get("complete"):
                run.exitcode = body.get("exitcode")
                if run.stopped:
                    run.state = "finished"
                else:
                    run.state = "finished" if run.exitcode == 0 else "crashed"

    # --- sweeps ---------------------------------------------------------------------------
    def sweep(self, name: str) -> SweepRecord:
        name = name.split("/")[-1]
        with self.lock:
            if name not in self.sweeps:
                raise NotFound(f"sweep {name} not found")
            return self.sweeps[name]

    def sweep_by_node_id(self, node_id: str) -> SweepRecord:
        with self.lock:
            for sweep in self.sweeps.values():
                if sweep.node_id == node_id:
                    return sweep
        raise NotFound(f"sweep with id {node_id} not found (upsertSweep takes Sweep.id)")

    def upsert_sweep(self, values: dict[str, Any]) -> SweepRecord:
        with self.lock:
            if values.get("id"):
                sweep = self.sweep_by_node_id(values["id"])
                if values.get("state"):
                    sweep.state = values["state"]
                self._add_prior_runs(sweep, values.get("priorRunsFilters"))
                return sweep
            config = yaml.safe_load(values["config"])
            sweep = SweepRecord(
                name=new_id(),
                project=values.get("projectName") or config.get("project") or "uncategorized",
                entity=values.get("entityName") or ENTITY,
                config=config,
                config_yaml=values["config"],
                description=values.get("description"),
                display_name=values.get("displayName"),
                number=len(self.sweeps) + 1,
            )
            self.scheduler.warm()  # its first answer is needed at the first heartbeat
            self.sweeps[sweep.name] = sweep
            self._add_prior_runs(sweep, values.get("priorRunsFilters"))
            return sweep

    def _add_prior_runs(self, sweep: SweepRecord, filters: str | None) -> None:
        for clause in json.loads(filters).get("$or", []) if filters else []:
            run = self._run_by_name(clause["name"])
            if run is not None:
                run.sweep = sweep.name
                sweep.prior_runs.append(run.name)

    def sweep_runs(self, sweep: SweepRecord) -> list[RunRecord]:
        with self.lock:
            return [run for run in self.runs.values() if run.sweep == sweep.name]

    # --- agents ---------------------------------------------------------------------------
    def create_agent(self, sweep_name: str, host: str) -> AgentRecord:
        with self.lock:
            sweep = self.sweep(sweep_name)
            agent = AgentRecord(id=new_id(10), sweep=sweep.name, host=host)
            self.agents[agent.id] = agent
            return agent

    def heartbeat(self, agent_id: str, run_state: dict[str, Any]) -> list[dict[str, Any]]:
        with self.lock:
            agent = self.agents.get(agent_id)
            if agent is None:
                raise NotFound(f"agent {agent_id} not found")
            agent.heartbeats += 1
            sweep = self.sweep(agent.sweep)
            if sweep.state in ("CANCELED", "CANCELLED"):
                return [{"type": "exit"}]
            live = [run_id for run_id, alive in run_state.items() if alive]
            # A finished sweep (grid done, run_cap reached) has no next run, but its runs
            # still running are judged to the end: an agent gets exit once it runs none.
            if sweep.state == "FINISHED" and not live:
                return [{"type": "exit"}]
            commands = self._stops(sweep, agent, run_state)
            if sweep.state == "RUNNING" and not live and not commands:
                command = self._next_run(sweep, agent)
                commands.append(command)
            return commands

    def _stops(
        self, sweep: SweepRecord, agent: AgentRecord, run_state: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """W&B's hyperband judges every running run of the sweep at each heartbeat; a run it
        stops gets its ``stop`` at the next heartbeat of the agent that runs it."""
        rule = sweep.config.get("early_terminate")
        if rule:
            for name in self.scheduler.stop_runs(sweep.config, self.sweep_runs(sweep)):
                run = self._run_by_name(name)
                if run is not None and not run.stopped:
                    run.stopped = True
                    sweep.pending_stops.add(name)
        commands = []
        for run_id in list(sweep.pending_stops):
            if run_id in agent.runs and run_state.get(run_id):
                commands.append({"type": "stop", "run_id": run_id})
                sweep.pending_stops.discard(run_id)
        return commands

    def _next_run(self, sweep: SweepRecord, agent: AgentRecord) -> dict[str, Any]:
        run_cap = sweep.config.get("run_cap")
        if run_cap is not None and len(sweep.scheduled) >= int(run_cap):
            sweep.state = "FINISHED"
            return {"type": "exit"}
        config = self.scheduler.next_run(sweep.config, self.sweep_runs(sweep))
        if config is None:  # the grid is done
            sweep.state = "FINISHED"
            return {"type": "exit"}
        run_id = new_id()
        run = RunRecord(
            name=run_id,
            project=sweep.project,
            entity=sweep.entity,
            sweep=sweep.name,
            state="pending",
            config=config,
        )
        self.runs[(sweep.project, run_id)] = run
        sweep.scheduled.append(run_id)
        agent.runs.append(run_id)
        return {
            "type": "run",
            "run_id": run_id,
            "program": sweep.config.get("program"),
            "args": config,
        }

    # --- inspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "sweeps": {
                    name: {
                        "id": s.node_id,
                        "project": s.project,
                        "entity": s.entity,
                        "state": s.state,
                        "config": s.config,
                        "scheduled": s.scheduled,
                        "prior_runs": s.prior_runs,
                        "runs": [r.name for r in self.sweep_runs(s)],
                    }
                    for name, s in self.sweeps.items()
                },
                "runs": {
                    run.name: {
                        "project": run.project,
                        "sweep": run.sweep,
                        "state": run.state,
                        "config": run.config,
                        "history": run.history,
                        "summary": run.summary,
                        "stopped": run.stopped,
                        "exitcode": run.exitcode,
                        "files": run.files,
                    }
                    for run in self.runs.values()
                },
                "agents": {
                    a.id: {"sweep": a.sweep, "host": a.host, "runs": a.runs}
                    for a in self.agents.values()
                },
                "requests": self.requests,
                "uploads": self.uploads,
            }
