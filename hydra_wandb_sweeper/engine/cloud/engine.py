"""The cloud engine: a sweep on the W&B server, this process acting as its agents.

The server proposes (grid, random, bayes), stops (hyperband), caps (``run_cap``) and ends
the sweep; this engine turns each ``run`` command into a trial whose values the sweep loop
launches as Hydra overrides, with W&B's binding in the job's environment so that the job's
``wandb.init()`` becomes that run. The metric reaches W&B through what the job logs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.engine.base import (
    TRIAL_ENV,
    SweepDefinition,
    Trial,
    TrialRecord,
    TrialState,
    stored_parameters,
)
from hydra_wandb_sweeper.engine.cloud.agent import AgentPool
from hydra_wandb_sweeper.engine.cloud.connection import (
    PROBE_SECONDS,
    Connection,
    SweepPath,
    connect,
    proxies,
)
from hydra_wandb_sweeper.engine.cloud.graphql import probe
from hydra_wandb_sweeper.engine.cloud.markers import (
    claim_trial_number,
    read_json,
    result_note,
    stopped_note,
)
from hydra_wandb_sweeper.engine.outcome import objective_outcome
from hydra_wandb_sweeper.errors import SweepRuntimeError
from hydra_wandb_sweeper.searchspace.conditions import active_keys

log = logging.getLogger(__name__)

ENDED_STATES = ("FINISHED", "CANCELED", "CANCELLED")
# How often the results re-read the runs other processes ran from the server.
OTHER_RUNS_EVERY_SECONDS = 30.0
# W&B run states as trial states (a stopped run is finished, noted in its summary)
_RUN_STATES = {
    "finished": TrialState.FINISHED,
    "running": TrialState.RUNNING,
    "crashed": TrialState.FAILED,
    "failed": TrialState.FAILED,
    "killed": TrialState.FAILED,
}


def wandb_sweep_config(
    definition: SweepDefinition, program: str | None, command: list[Any] | None = None
) -> dict[str, Any]:
    """The W&B sweep config of a definition. Unless ``command`` is given, the stock
    ``wandb agent`` runs ``program`` with Hydra's ``key=value`` overrides."""
    config: dict[str, Any] = {
        "method": definition.method,
        "parameters": {name: dict(spec) for _, name, spec in definition.parameters},
    }
    if definition.metric_name:
        metric: dict[str, Any] = {"name": definition.metric_name, "goal": definition.goal}
        if definition.target is not None:
            metric["target"] = definition.target
        config["metric"] = metric
    if definition.early_terminate:
        config["early_terminate"] = dict(definition.early_terminate)
    for key in ("run_cap", "name", "description"):
        if getattr(definition, key) is not None:
            config[key] = getattr(definition, key)
    if program:
        config["program"] = program
    if command:
        config["command"] = list(command)
    elif program:
        config["command"] = ["${env}", "${interpreter}", "${program}", "${args_no_hyphens}"]
    return config


class CloudEngine:
    """A W&B sweep on the server; see the module docstring."""

    def __init__(
        self,
        connection: Connection,
        path: SweepPath,
        definition: SweepDefinition,
        state_dir: Path,
        *,
        retry_seconds: float,
        stop_grace_seconds: float,
        ended: str | None = None,
    ) -> None:
        self.connection = connection
        self.path = path
        self.sweep_id = str(path)
        self.definition = definition
        self.location = connection.sweep_url(path)
        self.state_dir = state_dir
        self._stop_grace_seconds = stop_grace_seconds
        self._names = {name: key for key, name, _ in definition.parameters}
        self._parameters = stored_parameters(definition)
        self._live: dict[str, Trial] = {}
        self._records: list[TrialRecord] = []
        self._lock = threading.Lock()
        self._ended = ended
        self._others: list[TrialRecord] = []  # the sweep's runs from other processes
        self._others_read_at = -OTHER_RUNS_EVERY_SECONDS
        self._agents = AgentPool(
            connection.client,
            path.sweep_id,
            str(path.project),
            str(path.entity),
            state_dir,
            probe=lambda: probe(connection.base_url, PROBE_SECONDS, proxies()),
            retry_seconds=retry_seconds,
        )

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        definition: SweepDefinition,
        *,
        project: str | None,
        entity: str | None,
        program: str | None,
        state_dir: Path,
        command: list[Any] | None = None,
        retry_seconds: float = 60.0,
        stop_grace_seconds: float = 30.0,
    ) -> CloudEngine:
        connection = connect()
        import wandb

        config = wandb_sweep_config(definition, program, command)
        # wandb.sweep prints "Create sweep with ID" and the sweep's URL itself.
        try:
            sweep_id = wandb.sweep(config, entity=entity, project=project)
        except wandb.errors.Error as error:
            raise SweepRuntimeError(f"The W&B server refused the sweep: {error}") from None
        path = SweepPath(
            entity or connection.api.settings.get("entity") or connection.default_entity,
            project or connection.api.settings.get("project") or "uncategorized",
            sweep_id,
        )
        return cls(
            connection,
            path,
            definition,
            state_dir,
            retry_seconds=retry_seconds,
            stop_grace_seconds=stop_grace_seconds,
        )

    @classmethod
    def join(
        cls,
        sweep_id: str,
        *,
        project: str | None,
        entity: str | None,
        definition_of: Any,
        state_dir: Path,
        retry_seconds: float = 60.0,
        stop_grace_seconds: float = 30.0,
    ) -> CloudEngine:
        """``definition_of(config)`` turns the sweep's W&B config into a SweepDefinition."""
        connection = connect()
        path = SweepPath.parse(sweep_id, entity, project)
        if path.entity is None:
            path = SweepPath(connection.default_entity, path.project, path.sweep_id)
        sweep = connection.read_sweep(path)
        path = SweepPath(sweep.entity, sweep.project, sweep.id)
        state = str(sweep.state or "").upper()
        ended = f"the W&B sweep {path} is {state.lower()}" if state in ENDED_STATES else None
        return cls(
            connection,
            path,
            definition_of(dict(sweep.config)),
            state_dir,
            retry_seconds=retry_seconds,
            stop_grace_seconds=stop_grace_seconds,
            ended=ended,
        )

    # --- the Engine interface ---------------------------------------------------------------
    def ask(self) -> Trial | None:
        if self._ended is not None:
            log.info(f"Nothing to run: {self._ended}")
            return None
        command = self._agents.next_run()
        if command is None:
            self._ended = self._agents.ended
            log.info(f"This agent stops: {self._ended}")
            return None
        # W&B proposes a point of the flattened space: the parameters that do not apply
        # reach no override; their values stay in the run's config, beside the active list
        args = command.get("args") or {}
        params = self._params(args)
        active = set(active_keys(self._parameters, params))
        trial = Trial(
            number=claim_trial_number(self.state_dir),
            run_id=str(command["run_id"]),
            params={key: value for key, value in params.items() if key in active},
            locked={name: _unwrapped(entry) for name, entry in args.items()},
            inactive={key: value for key, value in params.items() if key not in active},
        )
        with self._lock:
            self._live[trial.run_id] = trial
        return trial

    def tell(self, trial: Trial, state: TrialState, value: float | None, error: str | None) -> None:
        if state is TrialState.FINISHED and stopped_note(self.state_dir, trial.run_id).exists():
            state = TrialState.STOPPED
        with self._lock:
            self._live.pop(trial.run_id, None)
            self._records.append(
                TrialRecord(trial.number, trial.run_id, state, value, trial.params, error)
            )
        self._agents.finished(trial.run_id)

    def release_unfinished(self, reason: str, *, worker_died: bool = False) -> list[TrialRecord]:
        # W&B's server decides what runs next; a run cut short here stays failed there
        with self._lock:
            unfinished = list(self._live.values())
            self._live.clear()
        released = []
        for trial in unfinished:
            note = read_json(result_note(self.state_dir, trial.run_id))
            if note is not None:  # its job finished; only the launcher failed
                state, value, error = objective_outcome(
                    note.get("result"), self.definition.metric_name
                )
            else:
                state, value, error = TrialState.FAILED, None, reason
            record = TrialRecord(trial.number, trial.run_id, state, value, trial.params, error)
            released.append(record)
            with self._lock:
                self._records.append(record)
            self._agents.finished(trial.run_id)
        return released

    def records(self) -> list[TrialRecord]:
        """This process's trials, then the sweep's other runs as the server has them (other
        processes and machines, the stock agent, published runs)."""
        with self._lock:
            mine = sorted(self._records, key=lambda record: record.number)
        now = time.monotonic()
        # read from the server now and then (the loop asks after every trial), never while
        # the agents find it unreachable
        if now - self._others_read_at >= OTHER_RUNS_EVERY_SECONDS and self._agents.reachable():
            self._others_read_at = now
            self._others = self._read_other_runs()
        known = {record.run_id for record in mine}
        number = max((record.number for record in mine), default=-1) + 1
        others = []
        for record in self._others:
            if record.run_id not in known:
                others.append(dataclasses.replace(record, number=number))
                number += 1
        return mine + others

    def _read_other_runs(self) -> list[TrialRecord]:
        try:  # one request, whatever the sweep's size
            runs = self.connection.client.sweep_runs(
                self.path.sweep_id, str(self.path.project), str(self.path.entity)
            )
        except Exception as error:  # the results of this process still stand
            log.debug(f"could not read the sweep's other runs: {error!r}")
            return self._others
        others = []
        for run in sorted(runs, key=lambda run: run["name"]):
            record = self._server_record(-1, run)
            # runs not yet started, or with values this space lacks, are left out
            if record is None or set(record.params) != set(self._names.values()):
                continue
            active = set(active_keys(self._parameters, record.params))
            params = {key: value for key, value in record.params.items() if key in active}
            others.append(dataclasses.replace(record, params=params))
        return others

    def _server_record(self, number: int, run: Mapping[str, Any]) -> TrialRecord | None:
        """A run as ``GraphQLClient.sweep_runs`` gives it."""
        state = _RUN_STATES.get(str(run["state"]))
        if state is None:  # scheduled, never started: nothing to show
            return None
        summary = run["summary"]
        if state is TrialState.FINISHED and summary.get("sweep/stopped_early"):
            state = TrialState.STOPPED
        metric = self.definition.metric_name
        value = summary.get(metric) if metric else None
        return TrialRecord(
            number=number,
            run_id=run["name"],
            state=state,
            value=float(value) if isinstance(value, (int, float)) else None,
            params=self._params(run["config"], quiet=True),
        )

    def job_environment(self, trial: Trial) -> dict[str, str]:
        handle = {
            "kind": "cloud",
            "run_id": trial.run_id,
            "metric": self.definition.metric_name,
            "early_terminate": bool(self.definition.early_terminate),
            "state_dir": str(self.state_dir),
            "stop_grace_seconds": self._stop_grace_seconds,
            "sweeper_pid": os.getpid(),
        }
        environment = {
            # the server's id: a job's run joins this sweep (UpsertBucket's sweep)
            "WANDB_SWEEP_ID": self.path.sweep_id,
            "WANDB_PROJECT": str(self.path.project),
            "WANDB_ENTITY": str(self.path.entity),
            TRIAL_ENV: json.dumps(handle, separators=(",", ":")),
        }
        for name in ("WANDB_RUN_GROUP", "WANDB_TAGS"):  # named by the short id W&B shows
            if name not in os.environ:
                environment[name] = f"sweep-{self.path.sweep_id}"
        return environment

    def stop_requested(self) -> bool:
        """W&B's own controls stop a cloud sweep: ``wandb sweep --pause`` (agents wait for
        runs), ``--stop``/``--cancel`` (agents get ``exit``)."""
        return False

    def close(self) -> None:
        self._agents.close()
        if self._ended and self._agents.lost:
            raise SweepRuntimeError(
                f"Lost the W&B server: {self._ended}. Rejoin the sweep when it is back "
                f"with hydra.sweeper.sweep_id={self.sweep_id}"
            )

    # --- internals --------------------------------------------------------------------------
    def _params(self, args: Mapping[str, Any], quiet: bool = False) -> dict[str, Any]:
        """The run command's values by Hydra key (nested W&B blocks give dotted names)."""
        flat: dict[str, Any] = {}
        blocks = {  # the nested ``parameters:`` blocks: a.b.c is in a and a.b
            ".".join(name.split(".")[:depth])
            for name in self._names
            for depth in range(1, name.count(".") + 1)
        }

        def visit(prefix: str, values: Mapping[str, Any]) -> None:
            for name, entry in values.items():
                value = entry if prefix else _unwrapped(entry)
                full = f"{prefix}{name}"
                if full not in self._names and full in blocks and isinstance(value, Mapping):
                    visit(f"{full}.", value)
                elif not prefix or full not in flat:
                    # a key sent flat wins over the same key inside a dict a run's app
                    # logged beside it (``optimizer.lr`` and ``optimizer: {lr: ...}``)
                    flat[full] = value

        visit("", args)
        unknown = sorted(set(flat) - set(self._names))
        if unknown and not quiet:
            log.warning(f"W&B sent parameters this sweep does not define: {', '.join(unknown)}")
        return {self._names[name]: value for name, value in flat.items() if name in self._names}


def _unwrapped(entry: Any) -> Any:
    """A run command's (or a run config's) ``{"value": v}`` as ``v``."""
    return entry.get("value") if isinstance(entry, Mapping) else entry
