"""The cloud agent under the errors W&B really answers: every run of a 3-point grid still runs.

One fault per case, injected by the test server once on the agent's heartbeat (idle: no live
run, busy: a run training). ``wandb agent`` runs all three runs through each of them; so must
this sweeper, exit 0, and show no traceback.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cloud_helpers import run_cloud
from tests.support.wandb_server.faults import HEARTBEAT_FAULT_CASES
from tests.support.wandb_server.fixture import WandbServer

pytestmark = pytest.mark.slow

FAULTS = HEARTBEAT_FAULT_CASES


def run_with_fault(
    server: WandbServer, env: dict[str, str], sweep_dir: Path, fault: dict[str, Any]
) -> tuple[subprocess.CompletedProcess[str], int]:
    """A 3-point grid under one injected fault: the sweeper's outcome and its finished trials."""
    server.control(faults=[{"operation": "Heartbeat", **fault}])
    done = run_cloud(
        "quadratic",
        sweep_dir,
        env,
        "hydra.sweeper.method=grid",
        "x=0.0,1.0,2.0",
        "sleep=2",  # long enough for busy heartbeats
        check=False,
        timeout=240,
    )
    results = sweep_dir / "optimization_results.yaml"
    finished = yaml.safe_load(results.read_text())["trials"]["finished"] if results.exists() else 0
    return done, finished


@pytest.mark.parametrize("fault", [fault for _, fault in FAULTS], ids=[n for n, _ in FAULTS])
def test_every_run_runs_through_a_fault(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path, fault: dict[str, Any]
) -> None:
    env = {
        **client_env,
        "HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS": "0.5",
        # W&B's own settings for wandb-core's GraphQL backoff (2-60 s by default)
        "WANDB__GRAPHQL_RETRY_WAIT_MIN_SECONDS": "0.2",
        "WANDB__GRAPHQL_RETRY_WAIT_MAX_SECONDS": "1",
    }
    done, finished = run_with_fault(wandb_server, env, tmp_path / "multirun", fault)
    output = done.stdout + done.stderr
    assert wandb_server.state()["faults_applied"], "the fault was never injected"
    assert (done.returncode, finished) == (0, 3), output[-3000:]
    assert "Traceback" not in output
    sweep = next(iter(wandb_server.state()["sweeps"].values()))
    assert len(sweep["scheduled"]) == 3  # no run was scheduled and then lost
