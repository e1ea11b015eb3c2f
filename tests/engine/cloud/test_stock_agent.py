"""W&B's own ``wandb agent`` on a sweep our sweeper created: train.py takes its ``key=value``s."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cloud_helpers import assert_no_api_key
from tests.support.wandb_server.fixture import REPO_ROOT, WandbServer

pytestmark = pytest.mark.slow

SWEEP = [
    "hydra.sweeper.method=grid",
    "hydra.sweeper.metric={name: val/acc, goal: maximize}",
    "data=digits",
    "model=mlp",
    "trainer.max_epochs=1",
    "optimizer.lr=0.01,0.003",
]


def test_stock_wandb_agent_runs_train_py_on_our_sweep(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **client_env,
        # `${interpreter}` is literally `python`: the one of this environment
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{client_env['PATH']}",
    }
    ours = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "train.py"),
            "-m",
            "hydra/sweeper=wandb",
            "hydra.sweeper.engine=wandb",
            "hydra.sweeper.project=stock",
            "hydra.sweeper.count=1",
            f"hydra.sweep.dir={tmp_path / 'multirun'}",
            # constants are part of the W&B sweep, so the stock agent passes them too
            "hydra.sweeper.parameters={data: {value: digits}, model: {value: mlp}, "
            "trainer.max_epochs: {value: 1}}",
            *[line for line in SWEEP if line.startswith(("hydra", "+hydra", "optimizer"))],
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ours.returncode == 0, ours.stdout[-3000:] + ours.stderr[-3000:]
    sweep_id = re.search(r"Create sweep with ID: (\w+)", ours.stdout).group(1)

    stock = subprocess.run(
        [sys.executable, "-m", "wandb", "agent", "--count", "1", f"tester/stock/{sweep_id}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert stock.returncode == 0, stock.stdout[-3000:] + stock.stderr[-3000:]
    state = wandb_server.state()
    sweep = state["sweeps"][sweep_id]
    assert sweep["config"]["command"][-1] == "${args_no_hyphens}"
    runs = [state["runs"][name] for name in sweep["runs"]]
    assert len(runs) == 2
    assert all(run["state"] == "finished" and "val/acc" in run["summary"] for run in runs)
    assert {run["config"]["optimizer.lr"]["value"] for run in runs} == {0.01, 0.003}
    assert len(state["agents"]) == 2  # ours, then the stock one
    # our agent speaks W&B's agent contract as the stock agent does
    for operation in ("CreateAgent", "Heartbeat"):
        ours_sent, stock_sent = _by_agent(state["requests"], operation)
        assert set(ours_sent["variables"]) == set(stock_sent["variables"])
        assert _fields(ours_sent["query"]) == _fields(stock_sent["query"])
    heartbeat = _by_agent(state["requests"], "Heartbeat")[0]["variables"]
    assert heartbeat["metrics"] == "{}" and isinstance(heartbeat["runState"], str)
    assert_no_api_key(ours.stdout, ours.stderr, stock.stdout, stock.stderr)


def _by_agent(requests: list[dict], operation: str) -> tuple[dict, dict]:
    """The first request of ``operation`` our agent sent, and the first the stock one sent
    (ours comes first: the stock agent started after our sweep ended)."""
    sent = [r for r in requests if r["operationName"] == operation]
    hosts = {r["variables"].get("host") for r in sent}
    assert sent, operation
    if operation == "CreateAgent":
        assert len(sent) == 2 and len(hosts) == 1
        return sent[0], sent[1]
    agent_ids = list(dict.fromkeys(r["variables"]["id"] for r in sent))
    assert len(agent_ids) == 2
    return (
        next(r for r in sent if r["variables"]["id"] == agent_ids[0]),
        next(r for r in sent if r["variables"]["id"] == agent_ids[1]),
    )


def _fields(document: str) -> set[str]:
    """The names a GraphQL document selects or passes, whatever its layout."""
    from graphql import parse, visit
    from graphql.language import ArgumentNode, FieldNode, Visitor

    names: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            names.add(node.name.value)

        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            names.add(node.name.value)

    visit(parse(document), Collect())
    return names
