"""train.py on engine: wandb: W&B's hyperband stop ends a real Lightning fit at a validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.wandb_server.fixture import REPO_ROOT, WandbServer

pytestmark = pytest.mark.slow

MAX_EPOCHS = 6


def test_the_lightning_callback_ends_a_trial_wandb_stopped(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "multirun"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "train.py"),
            "-m",
            "hydra/sweeper=wandb",
            "hydra.sweeper.engine=wandb",
            "hydra.sweeper.project=lightning",
            f"hydra.sweep.dir={sweep_dir}",
            "hydra.sweeper.method=grid",
            "hydra.sweeper.metric={name:val/acc,goal:maximize}",
            # eta 3: of 2 runs at a band, W&B's rule keeps int(2/3)+1 = 1 (with eta 2, both)
            "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:3}",
            "optimizer.lr=choice(0.01,1e-7)",
            "model=mlp",
            f"trainer.max_epochs={MAX_EPOCHS}",
            "+callbacks.epochs._target_=tests.support.epoch_counter.EpochCounter",
            "+callbacks.pause._target_=tests.support.epoch_pause.EpochPause",
            "+callbacks.pause.seconds=0.6",
        ],
        cwd=tmp_path,
        env={**client_env, "HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS": "0.3"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    epochs = {}
    for job in sweep_dir.glob("*/epochs.json"):
        overrides = yaml.safe_load((job.parent / ".hydra" / "overrides.yaml").read_text())
        lr = float(next(o for o in overrides if o.startswith("optimizer.lr=")).split("=")[1])
        epochs[lr] = json.loads(job.read_text())
    assert (epochs[0.01]["epochs"], epochs[0.01]["stopped_early"]) == (MAX_EPOCHS, False)
    assert epochs[1e-7]["stopped_early"] and 1 <= epochs[1e-7]["epochs"] < MAX_EPOCHS
    state = wandb_server.state()
    (stopped,) = [run for run in state["runs"].values() if run["stopped"]]
    assert stopped["state"] == "finished" and stopped["summary"]["sweep/stopped_early"] is True
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["trials"]["stopped"] == 1 and results["best_params"]["optimizer.lr"] == 0.01
