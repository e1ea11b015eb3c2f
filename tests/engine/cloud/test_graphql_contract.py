"""One test per GraphQL operation the cloud engine depends on: what the real client sent.

A scenario runs once against the test server with the real wandb client (an online run,
``wandb.sweep`` with a prior run, a sweep run bound by ``WANDB_SWEEP_ID``, ``wandb.Api().sweep``)
and the cloud engine's own agent; each test then checks one recorded request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from hydra_wandb_sweeper.engine.cloud.graphql import GraphQLClient, NotFoundOnServer
from tests.support.wandb_server.fixture import API_KEY, WandbServer, start_server, stop_server

SCENARIO = """
import json, os, sys
import wandb

prior = wandb.init(project="contract", id="prior001")
prior.log({"loss": 1.5})
prior.finish()
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
try:
    wandb.Api().sweep("tester/contract/nosuch00")
    missing = "found"
except Exception as error:
    missing = type(error).__name__
print(json.dumps({"sweep_id": sweep_id, "state": sweep.state, "runs": len(sweep.runs),
                  "missing": missing}))
"""


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WandbServer, dict]]:
    workdir = tmp_path_factory.mktemp("contract")
    server = start_server(workdir / "server")
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCENARIO],
            cwd=workdir,
            env=server.client_env(workdir / "home"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        client = GraphQLClient(server.url, API_KEY)
        agent_id = client.create_agent("host-a", outcome["sweep_id"], "contract", "tester")
        outcome["commands"] = client.heartbeat(agent_id, [])
        outcome["busy_commands"] = client.heartbeat(agent_id, [outcome["commands"][0]["run_id"]])
        with pytest.raises(NotFoundOnServer):
            client.create_agent("host-a", "nosuch00", "contract", "tester")
        yield server, outcome
    finally:
        stop_server(server)


def test_upsert_sweep_sends_the_config_as_yaml_and_prior_runs(contract) -> None:
    server, outcome = contract
    (request,) = server.requests("UpsertSweep")
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
    server, _ = contract
    refused = server.requests("CreateAgent")[-1]
    assert refused["variables"]["sweep"] == "nosuch00"
