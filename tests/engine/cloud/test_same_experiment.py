"""The W&B sweep we create holds the experiment: W&B's own ``wandb agent``, started in another
copy of the project, composes the config our trials compose (config name, ``sweep=``, fixed
overrides); the two runs differ only in the swept key."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cloud_helpers import APPS, assert_no_api_key
from tests.support.sweeper_helpers import run_checked, trial_records
from tests.support.wandb_server.fixture import WandbServer
from tests.support.wandb_server.state import ENTITY

pytestmark = pytest.mark.slow

# An experiment as users lay it out: a primary config chosen with --config-name, and a
# `sweep` group whose options select other groups and set values.
EXPERIMENT = "defaults:\n  - config\n  - optional sweep: null\n  - _self_\n\nlabel: experiment\n"
SWEEP_OPTION = "# @package _global_\ndefaults:\n  - override /shape: bowl\n\ny: 0.5\n"


def _project(root: Path) -> Path:
    """A copy of the project: the app in ``app/``, with the experiment's configs."""
    shutil.copytree(APPS / "quadratic", root / "app")
    conf = root / "app" / "conf"
    (conf / "experiment.yaml").write_text(EXPERIMENT)
    (conf / "sweep").mkdir(exist_ok=True)  # the app may bring options of its own
    (conf / "sweep" / "tilted.yaml").write_text(SWEEP_OPTION)
    return root


def test_the_stock_agent_runs_the_experiment_our_agent_runs(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    here, elsewhere = _project(tmp_path / "here"), _project(tmp_path / "elsewhere")
    env = {
        **client_env,
        # `${interpreter}` is literally `python`: the one of this environment
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{client_env['PATH']}",
    }
    sweep_dir = here / "multirun"
    ours = run_checked(
        [
            sys.executable,
            "app/app.py",
            "--config-name=experiment",
            "-m",
            "hydra/sweeper=wandb",
            "hydra.sweeper.engine=wandb",
            "hydra.sweeper.project=tests",
            "hydra.sweeper.method=grid",
            "hydra.sweeper.count=1",
            f"hydra.sweep.dir={sweep_dir}",
            "sweep=tilted",
            "label=fixed",
            "use_wandb=true",
            "x=0.5,1.5",
        ],
        cwd=here,
        env=env,
        check=True,
        timeout=180,
    )
    (sweep_id,) = wandb_server.state()["sweeps"]
    config = wandb_server.state()["sweeps"][sweep_id]["config"]
    assert config["program"] == "app/app.py"  # found where the agent runs
    stock = run_checked(
        [sys.executable, "-m", "wandb", "agent", "--count", "1", f"{ENTITY}/tests/{sweep_id}"],
        cwd=elsewhere,
        env=env,
        check=True,
        timeout=180,
    )

    (mine,) = trial_records(here)
    (theirs,) = [
        json.loads(path.read_text()) for path in (elsewhere / "outputs").rglob("trial.json")
    ]
    # the composed configs, key by key: everything but the swept key is the same experiment
    differing = _differing(_flat(mine["config"]), _flat(theirs["config"]))
    assert differing == {"x"}, differing
    assert theirs["config"]["label"] == "fixed"  # a fixed override
    assert theirs["config"]["y"] == 0.5 and theirs["config"]["shape"]["offset"] == 1.0  # sweep=
    assert {mine["config"]["x"], theirs["config"]["x"]} == {0.5, 1.5}

    # and the runs' configs on the server, as W&B's scheduler and views compare them
    state = wandb_server.state()
    runs = [state["runs"][name]["config"] for name in state["sweeps"][sweep_id]["runs"]]
    assert len(runs) == 2
    ours_run, stock_run = (
        {key: value for key, value in run.items() if key != "_wandb"} for run in runs
    )
    assert _differing(ours_run, stock_run) == {"x"}, (ours_run, stock_run)
    assert_no_api_key(ours.stdout, ours.stderr, stock.stdout, stock.stderr)


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _differing(one: dict[str, Any], other: dict[str, Any]) -> set[str]:
    return {key for key in one.keys() | other.keys() if one.get(key, ...) != other.get(key, ...)}
