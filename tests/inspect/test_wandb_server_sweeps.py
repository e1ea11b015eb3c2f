"""A sweep on a W&B server, read by the command-line tool through the public API: the real
wandb client writes the sweep and its runs to the loopback test W&B server, then `list
--wandb`, `show`, `best` and `report` read them back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli.cli_helpers import cli

server = pytest.importorskip(
    "tests.support.wandb_server.fixture", reason="the loopback W&B test server is not here"
)
wandb_server = server.wandb_server
client_env = server.client_env

WRITE_SWEEP = textwrap.dedent(
    """
    import os, wandb, yaml
    config = {
        "name": "cloudy", "method": "random", "program": "train.py",
        "metric": {"name": "val/acc", "goal": "maximize"},
        "parameters": {"model": {"values": ["cnn_tcn", "mlp"]},
                       "optimizer": {"parameters": {"lr": {"min": 0.0001, "max": 0.1}}}},
    }
    sweep_id = wandb.sweep(config, entity="lab", project="har")
    os.environ["WANDB_SWEEP_ID"] = sweep_id
    trials = [("cnn_tcn", 0.01, [0.5, 0.7, 0.8], False), ("mlp", 0.05, [0.4, 0.45], True),
              ("mlp", 0.002, [0.6, 0.75, 0.85], False)]
    for number, (model, lr, curve, stopped) in enumerate(trials):
        # W&B's own binding of a process to a sweep run, as the sweeper's jobs get it
        params = f"param-{number}.yaml"
        values = {"model": {"value": model}, "optimizer.lr": {"value": lr}}
        with open(params, "w") as file:
            yaml.safe_dump({"wandb_version": 1, **values}, file)
        os.environ.update(WANDB_RUN_ID=f"run{number}abc", WANDB_SWEEP_PARAM_PATH=params)
        wandb.teardown()
        run = wandb.init()
        for acc in curve:
            run.log({"val/acc": acc})
        if stopped:
            run.summary["sweep/stopped_early"] = True
            run.summary["sweep/stopped_at_step"] = len(curve)
        run.finish()
    print(sweep_id)
    """
)


def write_sweep(env: dict[str, str], tmp_path: Path) -> str:
    """The sweep and its runs, written by the real wandb client; returns the sweep id."""
    written = subprocess.run(
        [sys.executable, "-c", WRITE_SWEEP],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert written.returncode == 0, written.stderr
    return written.stdout.split()[-1]


def read(env: dict[str, str], tmp_path: Path, *args: str) -> str:
    return cli(tmp_path, *args, env=env).stdout


@pytest.mark.slow
def test_a_wandb_sweep_is_shown_ranked_and_reported(tmp_path, client_env):
    sweep_id = write_sweep(client_env, tmp_path)
    path = f"lab/har/{sweep_id}"

    shown = json.loads(read(client_env, tmp_path, "show", path, "--json", "--sort", "value"))
    trials = shown["trials_table"]
    assert [t["value"] for t in trials] == [0.85, 0.8, 0.45]
    assert trials[0]["params"] == {"model": "mlp", "optimizer.lr": 0.002}
    assert trials[2]["state"] == "stopped" and trials[2]["stopped_at_step"] == 2

    best = json.loads(read(client_env, tmp_path, "best", path, "--json"))
    assert best["rerun"] == f"{sys.executable} train.py model=mlp optimizer.lr=0.002"

    read(client_env, tmp_path, "report", path, "--out", "r", "--no-png")
    page = (tmp_path / "r" / "report.html").read_text()
    assert "learning_curves" in page and "optimizer.lr" in page


@pytest.mark.slow
def test_the_sweeps_of_a_wandb_project_are_listed(tmp_path, client_env):
    sweep_id = write_sweep(client_env, tmp_path)
    [listed] = json.loads(read(client_env, tmp_path, "list", "--wandb", "lab/har", "--json"))
    assert listed["sweep_id"] == sweep_id and listed["name"] == "cloudy"
    assert listed["trials"] == {"finished": 2, "stopped": 1, "running": 0, "failed": 0}
