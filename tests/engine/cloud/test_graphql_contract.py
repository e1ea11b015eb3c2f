"""One test per GraphQL operation the cloud engine depends on: what the real client sent.

A scenario runs once against the test server with the real wandb client (an online run,
``wandb.sweep`` with a prior run, a sweep run bound by ``WANDB_SWEEP_ID``, ``wandb.Api().sweep``)
and the cloud engine's own agent; each test then checks one recorded request.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import yaml

from tests.support.wandb_server.fixture import WandbServer, start_server, stop_server

SCENARIO = """
import json, os, sys
import wandb

prior = wandb.init(project="contract", id="prior001")
prior.log({"loss": 1.5})
prior.finish()
wandb.teardown()
second = wandb.init(project="contract", id="prior002")
second.finish()
config = {
    "method": "random",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1}},
}
sweep_id = wandb.sweep(config, project="contract", prior_runs=["prior001"])
os.environ.update(WANDB_SWEEP_ID=sweep_id, WANDB_RUN_ID="bound001")
wandb.teardown()  # the binding is read when wandb sets up, as in a sweep job
run = wandb.init(project="contract")
run.log({"loss": 0.5})
run.finish()
sweep = wandb.Api().sweep(f"tester/contract/{sweep_id}")
state, runs = sweep.state, len(sweep.runs)
try:
    wandb.Api().sweep("tester/contract/nosuch00")
    missing = "found"
except Exception as error:
    missing = type(error).__name__
# the cloud engine's own agent, through the same client
from hydra_wandb_sweeper.engine.cloud.connection import connect
from hydra_wandb_sweeper.engine.cloud.graphql import NotFoundOnServer

client = connect().client
agent_id = client.create_agent("host-a", sweep_id, "contract", "tester")
commands = client.heartbeat(agent_id, [])
busy_commands = client.heartbeat(agent_id, [commands[0]["run_id"]])
try:
    client.create_agent("host-a", "nosuch00", "contract", "tester")
    unknown = "found"
except NotFoundOnServer:
    unknown = "NotFoundOnServer"
node_id = client.sweep_node_id(sweep_id, "contract", "tester")
client.add_prior_runs(sweep_id, "contract", "tester", ["prior002"])
# a trial in this process resets wandb (as W&B's agent does before each run): the agent's
# next request still goes through
wandb.teardown()
after_teardown = client.heartbeat(agent_id, [])
print(json.dumps({"sweep_id": sweep_id, "state": state, "runs": runs,
                  "missing": missing, "commands": commands, "busy_commands": busy_commands,
                  "unknown": unknown, "node_id": node_id, "after_teardown": after_teardown}))
"""


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WandbServer, dict]]:
    workdir = tmp_path_factory.mktemp("contract")
    server = start_server(workdir / "server")
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCENARIO],
            cwd=workdir,
            # W&B's extra-header setting: every request of the client carries it
            env=server.client_env(
                workdir / "home", WANDB__EXTRA_HTTP_HEADERS='{"X-Test-Header": "contract"}'
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        yield server, outcome
    finally:
        stop_server(server)


def test_upsert_sweep_sends_the_config_as_yaml_and_prior_runs(contract) -> None:
    server, outcome = contract
    request = server.requests("UpsertSweep")[0]
    variables = request["variables"]
    assert yaml.safe_load(variables["config"])["parameters"]["optimizer.lr"]["max"] == 0.1
    assert variables["projectName"] == "contract"
    assert json.loads(variables["priorRunsFilters"]) == {"$or": [{"name": "prior001"}]}
    assert request["authorization"]
    assert "prior001" in server.state()["sweeps"][outcome["sweep_id"]]["runs"]


def test_upsert_bucket_binds_a_run_to_the_sweep(contract) -> None:
    server, outcome = contract
    bound = [r for r in server.requests("UpsertBucket") if r["variables"]["name"] == "bound001"]
    assert bound and bound[0]["variables"]["sweep"] == outcome["sweep_id"]
    assert "sweep" in bound[0]["query"] and "sweepName" in bound[0]["query"]
    run = server.state()["runs"]["bound001"]
    assert run["sweep"] == outcome["sweep_id"]
    assert [row["loss"] for row in run["history"]] == [0.5]  # file_stream history rows


def test_public_api_reads_the_sweep_by_entity_project_id(contract) -> None:
    server, outcome = contract
    (request, *_) = server.requests("GetSweep")
    assert request["variables"]["name"] == outcome["sweep_id"] or outcome["sweep_id"] in str(
        request["variables"]
    )
    assert outcome["state"] == "RUNNING" and outcome["runs"] == 2
    assert outcome["missing"] != "found"  # an unknown sweep is an error, not an empty sweep


def test_create_agent_registers_with_host_sweep_project_entity(contract) -> None:
    server, outcome = contract
    request = server.requests("CreateAgent")[0]
    assert request["variables"] == {
        "host": "host-a",
        "sweep": outcome["sweep_id"],
        "projectName": "contract",
        "entityName": "tester",
    }


def test_heartbeat_reports_live_runs_and_receives_commands(contract) -> None:
    server, outcome = contract
    idle, busy = server.requests("Heartbeat")[:2]
    assert idle["variables"]["runState"] == "{}" and idle["variables"]["metrics"] == "{}"
    (command,) = outcome["commands"]
    assert command["type"] == "run" and set(command["args"]) == {"optimizer.lr"}
    assert 1e-4 <= command["args"]["optimizer.lr"]["value"] <= 0.1
    assert json.loads(busy["variables"]["runState"]) == {command["run_id"]: True}
    assert outcome["busy_commands"] == []  # one run at a time per agent


def test_unknown_sweep_is_404(contract) -> None:
    server, outcome = contract
    refused = server.requests("CreateAgent")[-1]
    assert refused["variables"]["sweep"] == "nosuch00"
    assert outcome["unknown"] == "NotFoundOnServer"


def test_adding_runs_to_a_sweep_names_it_by_node_id_not_name(contract) -> None:
    """W&B's code passes ``Sweep.id`` (a base64 ``Sweep:<n>`` node id) to update a sweep."""
    server, outcome = contract
    assert outcome["node_id"] != outcome["sweep_id"]
    assert base64.b64decode(outcome["node_id"]).decode().startswith("Sweep:")
    update = server.requests("UpsertSweep")[-1]
    assert update["variables"]["id"] == outcome["node_id"]
    assert json.loads(update["variables"]["priorRunsFilters"]) == {"$or": [{"name": "prior002"}]}
    assert "prior002" in server.state()["sweeps"][outcome["sweep_id"]]["runs"]


def test_the_test_server_refuses_a_name_where_w_and_b_takes_a_node_id(contract) -> None:
    server, outcome = contract
    request = urllib.request.Request(
        f"{server.url}/graphql",
        data=json.dumps(
            {
                "query": "mutation U($id: ID) { upsertSweep(input: {id: $id}) { sweep { name } } }",
                "variables": {"id": outcome["sweep_id"]},
            }
        ).encode(),
        headers={"content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404


def test_the_agent_speaks_through_the_wandb_client_s_transport(contract) -> None:
    """Its requests carry what W&B's settings add to every request of the client (here an
    extra header; proxies, TLS trust and tokens go the same way), with W&B's credentials."""
    server, _ = contract
    for operation in ("CreateAgent", "Heartbeat", "SweepNodeId"):
        for request in server.requests(operation):
            assert request["headers"].get("x-test-header") == "contract", operation
            assert request["authorization"], operation


def test_the_agent_s_requests_outlive_a_trial_s_wandb_teardown(contract) -> None:
    server, outcome = contract
    assert isinstance(outcome["after_teardown"], list)
    assert len(server.requests("Heartbeat")) == 3
