"""Several processes on one sweep, and a sweep killed with SIGKILL that resumes with nothing lost."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hydra_wandb_sweeper.engine.local.storage import open_storage
from tests.support.sweeper_helpers import (
    results,
    run_sweep,
    sweep_command,
    sweep_env,
    trial_records,
)

pytestmark = pytest.mark.slow

GRID = ("x=choice(0,1,2,3,4,5)", "hydra.sweeper.method=grid")


def start_sweep(tmp_path: Path, *overrides: str, sweep_dir: str, log_name: str) -> subprocess.Popen:
    log = (tmp_path / log_name).open("w")
    return subprocess.Popen(
        sweep_command(tmp_path, *overrides, sweep_dir=sweep_dir),
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_sweep_id(log_path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"W&B sweep (\w+) \|", log_path.read_text())
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no sweep id in {log_path}:\n{log_path.read_text()}")


def wait_for_jobs(sweep_dir: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(list(sweep_dir.glob("*/trial.json"))) < count:
        assert time.monotonic() < deadline, f"fewer than {count} jobs finished in {sweep_dir}"
        time.sleep(0.05)


def wait_for_path(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_two_processes_share_a_grid_and_never_run_a_point_twice(tmp_path):
    first = start_sweep(tmp_path, *GRID, "sleep=1", sweep_dir="a", log_name="a.log")
    sweep_id = wait_for_sweep_id(tmp_path / "a.log")
    run_sweep(tmp_path, *GRID, "sleep=1", f"hydra.sweeper.sweep_id={sweep_id}", sweep_dir="b")
    assert first.wait(timeout=120) == 0, (tmp_path / "a.log").read_text()
    jobs = trial_records(tmp_path, "a") + trial_records(tmp_path, "b")
    assert sorted(job["config"]["x"] for job in jobs) == [0, 1, 2, 3, 4, 5]
    assert len({job["pid"] for job in jobs}) == 2, "both processes ran trials"
    # job folders are named by trial number, unique over both processes
    assert len({job["dir"].name for job in jobs}) == 6
    # whichever process ended last wrote the whole sweep
    assert max(results(tmp_path, name)["trials"]["finished"] for name in "ab") == 6


def test_run_cap_holds_across_processes(tmp_path):
    common = ("x=interval(0,1)", "hydra.sweeper.run_cap=4", "hydra.sweeper.count=10", "sleep=0.5")
    first = start_sweep(tmp_path, *common, sweep_dir="a", log_name="a.log")
    sweep_id = wait_for_sweep_id(tmp_path / "a.log")
    run_sweep(tmp_path, *common, f"hydra.sweeper.sweep_id={sweep_id}", sweep_dir="b")
    assert first.wait(timeout=120) == 0
    assert results(tmp_path, "a")["trials"]["total"] == 4
    assert len(trial_records(tmp_path, "a") + trial_records(tmp_path, "b")) == 4


def test_killed_sweep_resumes_and_loses_no_finished_trial(tmp_path):
    # the grid runs x = 0, 1, 2, ... in order: x = 0-2 finish, x = 3 holds until the kill
    first = start_sweep(tmp_path, *GRID, "hold_above=2.5", sweep_dir="a", log_name="a.log")
    sweep_id = wait_for_sweep_id(tmp_path / "a.log")
    wait_for_jobs(tmp_path / "a", 3)
    wait_for_path(tmp_path / "a" / "3" / "started")  # trial 3's job runs: killed mid-trial
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    before = stored_trials(tmp_path, sweep_id)
    finished_before = {t.number: t.params for t in before if t.state is TrialState.COMPLETE}
    assert 2 <= len(finished_before) < 6
    assert any(t.state is TrialState.RUNNING for t in before), "killed while a trial ran"

    run_sweep(tmp_path, *GRID, "sleep=1", f"hydra.sweeper.sweep_id={sweep_id}", sweep_dir="b")

    after = stored_trials(tmp_path, sweep_id)
    finished_after = {t.number: t.params for t in after if t.state is TrialState.COMPLETE}
    # nothing finished before the kill was lost or run again
    assert finished_before.items() <= finished_after.items()
    assert sorted(params["x"] for params in finished_after.values()) == [0, 1, 2, 3, 4, 5]
    summary = results(tmp_path, "b")
    assert summary["trials"]["finished"] == 6
    # the trial running at the kill is failed and re-run, or kept if its job had finished
    assert summary["trials"]["failed"] <= 1
    assert summary["trials"]["running"] == 0


def stored_trials(tmp_path: Path, sweep_id: str) -> list[optuna.trial.FrozenTrial]:
    storage = open_storage(str(tmp_path / "journal.log"))
    study = optuna.load_study(study_name=sweep_id, storage=storage)
    return [t for t in study.get_trials() if t.state is not TrialState.WAITING]


def test_joining_an_unknown_sweep_id_is_a_clear_error(tmp_path):
    completed = run_sweep(tmp_path, *GRID, "hydra.sweeper.sweep_id=nosuch99", check=False)
    assert completed.returncode != 0
    assert "hydra.sweeper.sweep_id" in completed.stderr and "nosuch99" in completed.stderr
    assert "Traceback" not in completed.stderr


def wait_for_file(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("stop", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"]
)
def test_interrupt_stops_cleanly_and_the_printed_command_resumes(tmp_path, stop, exit_code):
    # x=0 finishes; x=1 holds its job until the signal: the signal lands while it runs
    first = start_sweep(tmp_path, *GRID, "hold_above=0.5", sweep_dir="a", log_name="a.log")
    sweep_id = wait_for_sweep_id(tmp_path / "a.log")
    wait_for_file(tmp_path / "a" / "1" / "started")
    first.send_signal(stop)
    assert first.wait(timeout=60) == exit_code
    log = (tmp_path / "a.log").read_text()
    assert "Traceback" not in log, log
    assert f"hydra.sweeper.sweep_id={sweep_id}" in log.split("Interrupted")[-1]
    interrupted = results(tmp_path, "a")["trials"]
    assert interrupted["running"] == 0 and interrupted["finished"] == 1
    # the held point failed through no fault of its own: it runs again on resume
    assert interrupted["failed"] == interrupted["failed_run_again_on_resume"] == 1

    run_sweep(tmp_path, *GRID, f"hydra.sweeper.sweep_id={sweep_id}", sweep_dir="b")
    finished = [t for t in stored_trials(tmp_path, sweep_id) if t.state is TrialState.COMPLETE]
    assert sorted(t.params["x"] for t in finished) == [0, 1, 2, 3, 4, 5]
    assert results(tmp_path, "b")["trials"] == {
        "total": 6,
        "running": 0,
        "finished": 6,
        "failed": 0,
        "stopped": 0,
    }


def test_joining_a_sweep_that_never_ends_needs_a_count(tmp_path):
    run_sweep(tmp_path, "x=interval(0,1)", "hydra.sweeper.count=1", sweep_dir="a")
    sweep_id = results(tmp_path, "a")["sweep_id"]
    completed = run_sweep(
        tmp_path, "x=interval(0,1)", f"hydra.sweeper.sweep_id={sweep_id}", check=False
    )
    assert completed.returncode != 0
    assert "hydra.sweeper.count" in completed.stderr and "never ends" in completed.stderr


def test_the_join_command_works_from_another_folder(tmp_path):
    run_sweep(tmp_path, *GRID, "hydra.sweeper.count=2", sweep_dir="a")
    log = (tmp_path / "a" / "optimization_results.yaml").read_text()
    assert "sweep_id" in log
    sweep_id = results(tmp_path, "a")["sweep_id"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = [*sweep_command(tmp_path, *GRID, sweep_dir="b"), f"hydra.sweeper.sweep_id={sweep_id}"]
    completed = subprocess.run(
        command, cwd=elsewhere, env=sweep_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert results(tmp_path, "b")["trials"]["finished"] == 6
