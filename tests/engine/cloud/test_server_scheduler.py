"""The test W&B server decides with W&B's own scheduler: grids deduplicated by run config,
nested values, hyperband in both forms and ``strict``, refusals answered as W&B answers them.

The server's state is driven here as its GraphQL resolvers drive it (runs upserted with the
config their client uploads, history streamed, agents heartbeating); the decisions come from
the ``sweeps`` package in its worker process.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.wandb_server.fixture import WandbServer, start_server, stop_server
from tests.support.wandb_server.scheduler import SchedulerRefusal
from tests.support.wandb_server.state import ServerState

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def state() -> Iterator[ServerState]:
    server_state = ServerState(seed=0)
    yield server_state
    server_state.scheduler.close()


def _sweep(state: ServerState, config: dict[str, Any]) -> tuple[str, str]:
    sweep = state.upsert_sweep({"config": yaml.safe_dump(config), "projectName": "p"})
    return sweep.name, state.create_agent(sweep.name, "host").id


def _run(state: ServerState, agent: str, running: dict[str, bool] | None = None) -> dict[str, Any]:
    (command,) = state.heartbeat(agent, running or {})
    return command


def _finish(state: ServerState, command: dict[str, Any], uploaded: dict[str, Any]) -> None:
    """The run starts with the config its client uploads, and ends."""
    state.upsert_run("p", command["run_id"], config=uploaded, state="running")
    state.file_stream("p", command["run_id"], {"complete": True, "exitcode": 0})


def test_a_grid_skips_points_that_runs_of_the_sweep_already_have(state: ServerState) -> None:
    sweep, agent = _sweep(state, {"method": "grid", "parameters": {"x": {"values": [1, 2, 3]}}})
    # a run that joined the sweep with x = 2 (e.g. another agent's, or a prior run)
    state.upsert_run("p", "prior", sweep=sweep, config={"x": {"value": 2}}, state="finished")
    seen = []
    while (command := _run(state, agent))["type"] == "run":
        seen.append(command["args"]["x"]["value"])
        _finish(state, command, {"x": {"value": command["args"]["x"]["value"]}})
    assert seen == [1, 3]
    assert state.sweep(sweep).state == "FINISHED"


def test_nested_values_are_sent_nested_and_read_back_from_the_runs_config(
    state: ServerState,
) -> None:
    config = {
        "method": "grid",
        "parameters": {
            "optimizer": {"parameters": {"lr": {"values": [0.1, 0.01]}}},
            "seed": {"value": 7},
        },
    }
    _, agent = _sweep(state, config)
    first = _run(state, agent)
    assert first["args"] == {"optimizer": {"value": {"lr": 0.1}}, "seed": {"value": 7}}
    # the app logs more keys under the same group; W&B's grid compares the swept ones
    _finish(
        state,
        first,
        {"optimizer": {"value": {"lr": 0.1, "name": "adamw"}}, "seed": {"value": 7}},
    )
    second = _run(state, agent)
    assert second["args"]["optimizer"] == {"value": {"lr": 0.01}}
    _finish(state, second, second["args"])
    assert _run(state, agent) == {"type": "exit"}


def _curves_sweep(state: ServerState, early_terminate: dict[str, Any]) -> tuple[str, str]:
    return _sweep(
        state,
        {
            "method": "random",
            "metric": {"name": "score", "goal": "maximize"},
            "early_terminate": early_terminate,
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        },
    )


def _log(state: ServerState, run: str, values: list[float]) -> None:
    rows = [json.dumps({"score": value}) for value in values]
    state.file_stream("p", run, {"files": {"wandb-history.jsonl": {"content": rows}}})


def _stops_after(state: ServerState, early_terminate: dict[str, Any], last: list[float]) -> bool:
    """Two finished runs (1.0 ... and 0.5 ...), then one that logs ``last``: is it stopped?"""
    _, agent = _curves_sweep(state, early_terminate)
    for value in (1.0, 0.5):
        command = _run(state, agent)
        state.upsert_run("p", command["run_id"], config=command["args"], state="running")
        _log(state, command["run_id"], [value] * 4)
        state.file_stream("p", command["run_id"], {"complete": True, "exitcode": 0})
    third = _run(state, agent)
    state.upsert_run("p", third["run_id"], config=third["args"], state="running")
    _log(state, third["run_id"], last)
    commands = state.heartbeat(agent, {third["run_id"]: True})
    return commands == [{"type": "stop", "run_id": third["run_id"]}]


@pytest.mark.parametrize(
    ("early_terminate", "last", "stopped"),
    [
        # min_iter form, bands 1, 2, 4: third of 3 at band 2, the best 2 go on
        ({"type": "hyperband", "min_iter": 1, "eta": 2}, [0.9, 0.2], True),
        # strict (W&B's default) judges the value at the band; strict false the best so far
        ({"type": "hyperband", "min_iter": 2, "eta": 2}, [0.9, 0.2], True),
        ({"type": "hyperband", "min_iter": 2, "eta": 2, "strict": False}, [0.9, 0.2], False),
        # max_iter form: bands int(4/2) = 2 and int(4/4) = 1
        ({"type": "hyperband", "max_iter": 4, "s": 2, "eta": 2}, [0.9, 0.2], True),
        # max_iter 8, s 1: the only band is 4, not reached yet
        ({"type": "hyperband", "max_iter": 8, "s": 1, "eta": 2}, [0.1, 0.1, 0.1], False),
        # a float eta: bands 1, 1, 2, 3, ...; third of 3 at band 2: int(3/1.5) + 1 = 3 go on
        ({"type": "hyperband", "min_iter": 1, "eta": 1.5}, [0.9, 0.2], False),
    ],
)
def test_hyperband_stops_as_wandb_does(
    state: ServerState, early_terminate: dict[str, Any], last: list[float], stopped: bool
) -> None:
    assert _stops_after(state, early_terminate, last) is stopped


def test_a_finished_grid_still_judges_the_runs_it_left_running(state: ServerState) -> None:
    config = {
        "method": "grid",
        "metric": {"name": "score", "goal": "maximize"},
        "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
        "parameters": {"x": {"values": [1, 2, 3]}},
    }
    sweep, first = _sweep(state, config)
    second = state.create_agent(sweep, "host").id
    for value in (1.0, 0.5):
        command = _run(state, first)
        state.upsert_run("p", command["run_id"], config=command["args"], state="running")
        _log(state, command["run_id"], [value] * 2)
        state.file_stream("p", command["run_id"], {"complete": True, "exitcode": 0})
    last = _run(state, second)
    state.upsert_run("p", last["run_id"], config=last["args"], state="running")
    assert _run(state, first) == {"type": "exit"}  # the grid is done
    assert state.sweep(sweep).state == "FINISHED"
    _log(state, last["run_id"], [0.1, 0.1])
    # the agent running the last point is not sent away: its run is judged, and stopped
    assert state.heartbeat(second, {last["run_id"]: True}) == [
        {"type": "stop", "run_id": last["run_id"]}
    ]
    assert _run(state, second) == {"type": "exit"}


def test_a_config_wandbs_scheduler_refuses_is_refused(state: ServerState) -> None:
    config = {
        "method": "grid",
        "parameters": {"x": {"values": [1, 2], "probabilities": [0.5, 0.5]}},
    }
    _, agent = _sweep(state, config)
    with pytest.raises(SchedulerRefusal, match="disallowed"):
        state.heartbeat(agent, {})


def test_the_refusal_reaches_the_agent_as_wandbs_http_400(tmp_path: Path) -> None:
    server: WandbServer = start_server(tmp_path / "server")
    try:
        config = {"method": "grid", "parameters": {"x": {"values": [1], "probabilities": [1.0]}}}
        sweep = _graphql(
            server,
            "mutation S($config: String) { upsertSweep(input: {config: $config}) "
            "{ sweep { name } } }",
            {"config": yaml.safe_dump(config)},
        )["upsertSweep"]["sweep"]["name"]
        agent = _graphql(
            server,
            'mutation A($sweep: String!) { createAgent(input: {host: "h", sweep: $sweep}) '
            "{ agent { id } } }",
            {"sweep": sweep},
        )["createAgent"]["agent"]["id"]
        with pytest.raises(urllib.error.HTTPError) as error:
            _graphql(
                server,
                'mutation H($id: ID!) { agentHeartbeat(input: {id: $id, metrics: "{}", '
                'runState: "{}"}) { commands } }',
                {"id": agent},
            )
        assert error.value.code == 400
        assert "disallowed" in error.value.read().decode()
    finally:
        stop_server(server)


def _graphql(server: WandbServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["data"]
