"""A conditional sweep on W&B's server: W&B gets the flattened space, Hydra the active values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.cloud_helpers import run_cloud
from tests.support.wandb_server.fixture import WandbServer

pytestmark = pytest.mark.slow


def test_wandb_sees_the_flattened_space_and_runs_record_what_applied(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "multirun"
    run_cloud(
        "quadratic",
        sweep_dir,
        client_env,
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name: loss, goal: minimize}",
        "shape=flat,ring",
        "shape.radius=1.0,3.0",
        "use_wandb=true",
    )
    state = wandb_server.state()
    (sweep,) = state["sweeps"].values()
    # W&B has no conditions: its grid is the flattened product, without when:
    assert sweep["config"]["parameters"]["shape.radius"] == {
        "distribution": "categorical",
        "values": [1.0, 3.0],
    }
    records = [json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/trial.json"))]
    assert len(records) == 4
    for record in records:
        config = record["wandb"]["config"]
        ring = config["shape"] == "ring"
        assert ("radius" in record["config"]["shape"]) == ring  # Hydra got no inactive value
        # the run keeps W&B's point and lists the parameters that applied
        assert "shape.radius" in config
        expected = ["shape", "shape.radius"] if ring else ["shape"]
        assert config["sweep_active_parameters"] == expected
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert (
        results["best_params"]["shape"] == "flat" and "shape.radius" not in results["best_params"]
    )


def test_a_joining_process_finds_the_conditions_the_config_groups_state(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    common = ["hydra.sweeper.metric={name: loss, goal: minimize}", "use_wandb=true"]
    first = run_cloud(
        "quadratic",
        tmp_path / "first",
        client_env,
        "hydra.sweeper.method=random",
        "hydra.sweeper.count=1",
        "hydra.sweeper.run_cap=5",
        "shape=flat,ring",
        "shape.radius=interval(0.5,3.0)",
        *common,
    )
    (sweep_id,) = wandb_server.state()["sweeps"]
    second = run_cloud(
        "quadratic", tmp_path / "second", client_env, f"hydra.sweeper.sweep_id={sweep_id}", *common
    )
    assert "shape.radius applies only when shape is ring" in second.stderr + second.stdout
    del first
    records = [
        json.loads(p.read_text()) for p in sorted((tmp_path / "second").glob("*/trial.json"))
    ]
    assert len(records) == 4
    for record in records:
        ring = record["wandb"]["config"]["shape"] == "ring"
        assert ("radius" in record["config"]["shape"]) == ring
