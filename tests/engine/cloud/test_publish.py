"""publish: an offline local sweep becomes a W&B sweep holding its runs; again adds only new ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cloud_helpers import assert_no_api_key, run_cloud
from tests.support.sweeper_helpers import run_sweep, sweep_command, trial_records
from tests.support.wandb_server.fixture import WandbServer

pytestmark = pytest.mark.slow

LOCAL = ["x=interval(-2.0,3.0)", "use_wandb=true", "hydra.sweeper.seed=0"]


def _publish(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hydra_wandb_sweeper",
            "publish",
            "--storage",
            str(tmp_path / "journal.log"),
            "--runs",
            str(tmp_path),
            "--project",
            "published",
        ],
        cwd=tmp_path,  # wandb sync logs into ./wandb
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_publish_an_offline_sweep_then_only_what_is_new_then_continue_on_wandb(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    run_sweep(tmp_path, *LOCAL, "hydra.sweeper.count=3")  # offline, no API key
    jobs = {job["wandb"]["id"]: job for job in trial_records(tmp_path)}
    assert len(jobs) == 3

    first = _publish(tmp_path, client_env)
    wandb_path = re.search(r"as W&B sweep (\S+)", first.stdout).group(1)
    entity, project, sweep_id = wandb_path.split("/")
    assert (entity, project) == ("tester", "published")
    state = wandb_server.state()
    sweep = state["sweeps"][sweep_id]
    assert sorted(sweep["runs"]) == sorted(jobs)  # the sweep holds exactly the trials' runs
    assert sweep["config"]["parameters"]["x"]["distribution"] == "uniform"
    for run_id, job in jobs.items():
        run = state["runs"][run_id]
        assert run["project"] == "published"
        assert run["config"]["x"]["value"] == pytest.approx(job["config"]["x"])
        assert [row["loss"] for row in run["history"] if "loss" in row]  # its history too

    # two more local trials: publishing again uploads and adds those two only
    uploads_before = _upserts_by_run(wandb_server)
    local_id = _results_sweep_id(tmp_path)
    run_sweep(
        tmp_path, *LOCAL, "hydra.sweeper.count=2", f"hydra.sweeper.sweep_id={local_id}",
        sweep_dir="more",
    )  # fmt: skip
    second = _publish(tmp_path, client_env)
    assert f"as W&B sweep {wandb_path}" in second.stdout and "2 run(s) added" in second.stdout
    state = wandb_server.state()
    assert len(state["sweeps"][sweep_id]["runs"]) == 5
    uploads_after = _upserts_by_run(wandb_server)
    assert all(uploads_after[run] == uploads_before[run] for run in jobs)  # not synced again

    # and the search goes on on W&B's engine
    run_cloud(
        "quadratic",
        tmp_path / "on-wandb",
        client_env,
        f"hydra.sweeper.sweep_id={wandb_path}",
        "hydra.sweeper.count=1",
    )
    assert len(wandb_server.state()["sweeps"][sweep_id]["runs"]) == 6
    assert_no_api_key(first.stdout, first.stderr, second.stdout, folders=(tmp_path,))


def _results_sweep_id(tmp_path: Path) -> str:
    import yaml

    return yaml.safe_load((tmp_path / "multirun" / "optimization_results.yaml").read_text())[
        "sweep_id"
    ]


def _upserts_by_run(server: WandbServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in server.requests("UpsertBucket"):
        name = (request["variables"] or {}).get("name")
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_publish_true_puts_an_online_local_sweep_on_wandb_at_its_end(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        sweep_command(
            tmp_path,
            *LOCAL,
            "hydra.sweeper.count=2",
            "hydra.sweeper.project=online-local",
            "hydra.sweeper.publish=true",
        ),
        cwd=tmp_path,
        env=client_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Published as W&B sweep tester/online-local/" in done.stdout + done.stderr
    state = wandb_server.state()
    (sweep,) = state["sweeps"].values()
    assert sorted(sweep["runs"]) == sorted(job["wandb"]["id"] for job in trial_records(tmp_path))
    assert all(state["runs"][run]["state"] == "finished" for run in sweep["runs"])
