"""engine: wandb end to end: our sweeper as the W&B agent, the real wandb client, the test server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cloud_helpers import assert_no_api_key, cloud_command, run_cloud
from tests.support.wandb_server.fixture import WandbServer

pytestmark = pytest.mark.slow


def _sweep_id(stdout: str) -> str:
    match = re.search(r"Create sweep with ID: (\w+)", stdout)
    assert match, stdout
    return match.group(1)


def _one_trial_of_a_new_sweep(
    tmp_path: Path, env: dict[str, str], *overrides: str
) -> subprocess.CompletedProcess[str]:
    """A random sweep created on the server by a first process that runs one trial."""
    return run_cloud(
        "quadratic",
        tmp_path / "first",
        env,
        "hydra.sweeper.method=random",
        "hydra.sweeper.count=1",
        "x=interval(-2.0,3.0)",
        *overrides,
    )


def _trial_records(sweep_dir: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(sweep_dir.glob("*/trial.json"))]


@pytest.mark.oldest  # wandb 0.19's client too
def test_grid_sweep_with_the_basic_launcher(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "multirun"
    done = run_cloud(
        "quadratic",
        sweep_dir,
        client_env,
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name: loss, goal: minimize}",
        "x=0.0,1.0",
        "y=-2.0,0.0",
        "use_wandb=true",
    )
    sweep_id = _sweep_id(done.stdout)
    assert f"/tester/tests/sweeps/{sweep_id}" in done.stdout  # the URL is printed
    state = wandb_server.state()
    sweep = state["sweeps"][sweep_id]
    assert sweep["state"] == "FINISHED" and len(sweep["runs"]) == 4
    assert sweep["config"]["parameters"]["x"] == {
        "distribution": "categorical",
        "values": [0.0, 1.0],
    }
    runs = {name: state["runs"][name] for name in sweep["runs"]}
    assert {run["state"] for run in runs.values()} == {"finished"}
    # every job was the run the server scheduled, with the server's values
    for record in _trial_records(sweep_dir):
        run = runs[record["wandb"]["id"]]
        assert record["wandb"]["sweep_id"] == sweep_id
        assert run["summary"]["loss"] == pytest.approx(
            (record["config"]["x"] - 1) ** 2 + (record["config"]["y"] + 2) ** 2
        )
        assert record["wandb"]["config"]["x"] == record["config"]["x"]
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["best_value"] == 0.0
    assert_no_api_key(done.stdout, done.stderr, folders=(tmp_path / "multirun", tmp_path / "home"))


def test_random_sweep_with_joblib_workers_and_run_cap(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "multirun"
    run_cloud(
        "quadratic",
        sweep_dir,
        client_env,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.method=random",
        "hydra.sweeper.run_cap=4",
        "hydra.sweeper.metric={name: loss, goal: minimize}",
        "x=interval(-2.0,3.0)",
        "shape=flat,bowl",
        "use_wandb=true",
    )
    state = wandb_server.state()
    (sweep,) = state["sweeps"].values()
    assert len(sweep["scheduled"]) == 4  # run_cap is the server's
    records = _trial_records(sweep_dir)
    assert len(records) == 4
    assert len({record["pid"] for record in records}) >= 2  # worker processes
    for record in records:
        run = state["runs"][record["wandb"]["id"]]
        assert run["state"] == "finished"
        offset = {"bowl": 1.0, "flat": 0.0}[run["config"]["shape"]["value"]]
        assert record["config"]["shape"]["offset"] == offset  # the group Hydra composed
    assert len({agent["host"] for agent in state["agents"].values()}) == 1
    assert len(state["agents"]) == 2  # one W&B agent per parallel trial


def test_bayes_sweep_runs_what_wandbs_bayes_proposes(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    # the server asks W&B's scheduler, which models the runs' summary metric
    sweep_dir = tmp_path / "multirun"
    run_cloud(
        "quadratic",
        sweep_dir,
        client_env,
        "hydra.sweeper.method=bayes",
        "hydra.sweeper.run_cap=3",
        "hydra.sweeper.metric={name: loss, goal: minimize}",
        "x=interval(-2.0,3.0)",
        "use_wandb=true",
    )
    state = wandb_server.state()
    (sweep,) = state["sweeps"].values()
    assert len(sweep["scheduled"]) == 3
    records = _trial_records(sweep_dir)
    assert len(records) == 3
    for record in records:
        run = state["runs"][record["wandb"]["id"]]
        assert run["state"] == "finished" and "loss" in run["summary"]
        assert record["config"]["x"] == run["config"]["x"]["value"]
        assert -2.0 <= record["config"]["x"] <= 3.0


def test_a_second_process_joins_by_entity_project_id(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    first = _one_trial_of_a_new_sweep(
        tmp_path, client_env, "hydra.sweeper.run_cap=4", "shape=flat,bowl", "use_wandb=true"
    )
    sweep_id = _sweep_id(first.stdout)
    assert f"hydra.sweeper.sweep_id=tester/tests/{sweep_id}" in first.stderr + first.stdout
    second = run_cloud(
        "quadratic",
        tmp_path / "second",
        client_env,
        f"hydra.sweeper.sweep_id=tester/tests/{sweep_id}",
        "use_wandb=true",
    )
    assert "Joined W&B sweep tester/tests/" in second.stderr + second.stdout
    state = wandb_server.state()
    assert len(state["sweeps"][sweep_id]["scheduled"]) == 4
    assert len(_trial_records(tmp_path / "second")) == 3  # the rest of run_cap
    # its results cover the whole sweep: the first process's trial is read from the server
    results = yaml.safe_load((tmp_path / "second" / "optimization_results.yaml").read_text())
    assert results["trials"]["total"] == 4 and results["trials"]["finished"] == 4
    # read in one request each time, not a request per run (wandb.Api's lazy runs)
    assert wandb_server.requests("SweepRuns")
    assert not wandb_server.requests("Run") and not wandb_server.requests("Runs")
    overrides = yaml.safe_load(
        next((tmp_path / "second").glob("*/.hydra/overrides.yaml")).read_text()
    )
    assert any(line.startswith("shape=") for line in overrides)  # a group, swapped by Hydra


HYPERBAND = [
    "hydra.sweeper.method=grid",
    "hydra.sweeper.metric={name: score, goal: maximize}",
    "hydra.sweeper.early_terminate={type: hyperband, min_iter: 2, eta: 2}",
    # W&B's rule keeps the best floor(n/eta)+1 at a band: 0.1 is third of 3 at the first band
    # (2 epochs) and is stopped; with only two runs, W&B would stop neither
    "quality=1.0,0.5,0.1",
    "epochs=12",
    "epoch_seconds=0.4",
    # 0.1 waits at its third epoch until W&B's stop reaches it: the stop is awaited, not raced
    # against the nine epochs left (a loaded machine's W&B client may take longer)
    "hold_below=0.2",
    "hold_at=3",
    "use_wandb=true",
]


def _run_curves(sweep_dir: Path, env: dict[str, str], *overrides: str) -> dict[str, Any]:
    """The curves app under hyperband; the server's state after it."""
    fast = {**env, "HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS": "0.3"}
    run_cloud("curves", sweep_dir, fast, *HYPERBAND, *overrides)
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["trials"]["stopped"] == 1 and results["trials"]["finished"] == 2
    return {
        json.loads(p.read_text())["quality"]: json.loads(p.read_text())["epochs_run"]
        for p in sweep_dir.glob("*/curve.json")
    }


def test_hyperband_stop_ends_the_trial_at_an_epoch_and_records_it_stopped(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    curves = _run_curves(tmp_path / "multirun", client_env)
    assert curves[1.0] == curves[0.5] == 12
    assert 2 <= curves[0.1] < 12  # ended at an epoch boundary, not killed
    state = wandb_server.state()
    stopped = [run for run in state["runs"].values() if run["stopped"]]
    assert len(stopped) == 1
    assert stopped[0]["state"] == "finished" and stopped[0]["exitcode"] == 0
    assert len([row for row in stopped[0]["history"] if "score" in row]) == curves[0.1]


@pytest.mark.parametrize(
    "launcher",
    [["hydra/launcher=basic"], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]],
    ids=["in-process", "joblib"],
)
def test_a_trial_that_ignores_the_stop_is_ended_after_the_grace_period(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path, launcher: list[str]
) -> None:
    curves = _run_curves(
        tmp_path / "multirun",
        client_env,
        *launcher,
        "hydra.sweeper.stop_grace_seconds=1",
        "ignore_stop=true",
    )
    assert curves == {1.0: 12, 0.5: 12}  # the third never returned: it was interrupted
    state = wandb_server.state()
    (stopped,) = [run for run in state["runs"].values() if run["stopped"]]
    assert stopped["config"]["quality"]["value"] == 0.1
    assert stopped["state"] == "finished"  # ended by the sweeper, not crashed
    assert len([row for row in stopped["history"] if "score" in row]) < 12


def test_a_stop_reaches_a_submitit_job_through_the_sweep_folder(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    curves = _run_curves(
        tmp_path / "multirun", client_env, "hydra/launcher=submitit_local", "hydra.sweeper.n_jobs=2"
    )
    assert curves[1.0] == curves[0.5] == 12 and 2 <= curves[0.1] < 12


def test_two_processes_at_once_share_one_sweep_without_running_a_run_twice(
    wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    first = _one_trial_of_a_new_sweep(tmp_path, client_env, "hydra.sweeper.run_cap=6")
    sweep_id = _sweep_id(first.stdout)
    joiners = [
        subprocess.Popen(
            cloud_command(
                "quadratic", tmp_path / name, f"hydra.sweeper.sweep_id={sweep_id}", "sleep=0.5"
            ),
            cwd=tmp_path,
            env={**client_env, "CUDA_VISIBLE_DEVICES": str(device)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for device, name in enumerate(("gpu0", "gpu1"))
    ]
    assert [joiner.wait(timeout=180) for joiner in joiners] == [0, 0]
    state = wandb_server.state()
    assert len(state["sweeps"][sweep_id]["scheduled"]) == 6  # run_cap over all processes
    ran = [
        yaml.safe_load(path.read_text())
        for name in ("gpu0", "gpu1")
        for path in (tmp_path / name).glob("*/.hydra/overrides.yaml")
    ]
    assert len(ran) == 5  # the five runs left after the first process's one, none twice
    assert len({tuple(overrides) for overrides in ran}) == 5
    for device, name in enumerate(("gpu0", "gpu1")):  # each machine's jobs on its own GPU
        for record in _trial_records(tmp_path / name):
            assert record["cuda_visible_devices"] == str(device)
