"""A W&B sweep with nested ``parameters:`` blocks, made by ``wandb sweep sweep.yaml`` and joined
by id: each run's W&B config is what W&B's own agent locks, while Hydra gets dotted overrides.

W&B's scheduler reads a nested value back from the run's config as
``config[block]["value"][key]`` (and dedups a grid by it), so a run that uploads the block
flat (``shape.offset``) or lets the app's own ``shape: flat`` replace it is unreadable there.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.cloud_helpers import APPS, assert_no_api_key, run_cloud
from tests.support.sweeper_helpers import run_checked, trial_records
from tests.support.wandb_server.fixture import WandbServer
from tests.support.wandb_server.state import ENTITY

pytestmark = pytest.mark.slow

SWEEP_FILE = {
    "method": "grid",
    "parameters": {
        "x": {"values": [0.5, 1.5]},
        "shape": {"parameters": {"offset": {"values": [3.0]}}},
    },
    # the stock agent runs the app as a plain W&B script: the values reach it in wandb.config
    "program": "app.py",
    "command": ["${env}", "${interpreter}", "${program}", "use_wandb=true"],
}


def test_a_nested_sweep_joined_by_id_locks_what_the_stock_agent_locks(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(APPS / "quadratic", project)
    (project / "sweep.yaml").write_text(yaml.safe_dump(SWEEP_FILE, sort_keys=False))
    env = {**client_env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{client_env['PATH']}"}
    wandb_cli = [sys.executable, "-m", "wandb"]
    run_checked(
        [*wandb_cli, "sweep", "--project", "tests", "sweep.yaml"],
        cwd=project,
        env=env,
        check=True,
        timeout=120,
    )
    (sweep_id,) = wandb_server.state()["sweeps"]

    ours = run_cloud(
        "quadratic",
        tmp_path / "multirun",
        env,
        f"hydra.sweeper.sweep_id={sweep_id}",
        "hydra.sweeper.count=1",
        "use_wandb=true",
    )
    stock = run_checked(
        [*wandb_cli, "agent", "--count", "1", f"{ENTITY}/tests/{sweep_id}"],
        cwd=project,
        env=env,
        check=True,
        timeout=180,
    )

    (job,) = trial_records(tmp_path)
    # Hydra composed the trial from dotted overrides: the group's key, not the group
    assert job["config"]["shape"]["offset"] == 3.0
    assert "shape.offset=3.0" in job["overrides"]
    # the job's wandb.config holds the block as W&B locks it; the app's `shape: flat` is ignored
    assert job["wandb"]["config"]["shape"] == {"offset": 3.0}

    state = wandb_server.state()
    runs = {name: state["runs"][name] for name in state["sweeps"][sweep_id]["runs"]}
    assert len(runs) == 2 and all(run["state"] == "finished" for run in runs.values())
    mine = runs.pop(job["wandb"]["id"])["config"]
    (theirs,) = (run["config"] for run in runs.values())
    for config in (mine, theirs):
        assert config["shape"] == {"value": {"offset": 3.0}}, config  # as the scheduler reads it
        assert "shape.offset" not in config
    assert {mine["x"]["value"], theirs["x"]["value"]} == {0.5, 1.5}
    assert set(mine) == set(theirs), (sorted(mine), sorted(theirs))
    assert_no_api_key(ours.stdout, ours.stderr, stock.stdout, stock.stderr)
