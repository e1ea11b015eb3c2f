"""Parallel agents: ``hydra.sweeper.agents`` and ``trials_per_gpu``, through the real sweeper."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.sweep.agents import (
    TicketedEngine,
    agent_command,
    gpu_for,
    take_ticket,
    tickets_taken,
    visible_gpus,
)
from hydra_wandb_sweeper.sweep.settings import read_settings
from tests.support.engines import definition
from tests.support.sweeper_helpers import (
    results,
    run_sweep,
    sweep_command,
    sweep_env,
    trial_records,
)

GRID = ("x=choice(0,1,2,3,4,5)", "hydra.sweeper.method=grid")


def test_gpus_go_round_robin_k_agents_each():
    gpus = ["3", "5"]
    assert [gpu_for(i, 1, gpus) for i in range(4)] == ["3", "5", "3", "5"]
    assert [gpu_for(i, 2, gpus) for i in range(6)] == ["3", "3", "5", "5", "3", "3"]


def test_visible_gpus_come_from_cuda_visible_devices():
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0, 2,"}) == ["0", "2"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []


def test_tickets_are_shared_up_to_count(tmp_path):
    tickets = tmp_path / "tickets"
    assert [take_ticket(tickets, 3) for _ in range(5)] == [True, True, True, False, False]


def test_an_interrupt_inside_ask_gives_its_ticket_back_once(tmp_path, monkeypatch):
    """Ctrl+C while the engine proposes a trial it has already claimed: ask() gives the
    ticket back, and releasing that trial must not give it back a second time, or the
    resume command would owe one trial more than the sweep has left."""
    engine = LocalEngine.create(
        str(tmp_path / "journal.log"), definition("random", {"x": {"min": 0.0, "max": 1.0}})
    )
    tickets = tmp_path / "tickets"
    agent = TicketedEngine(engine, tickets, count=6)
    done = agent.ask()
    assert done is not None
    agent.tell(done, TrialState.FINISHED, 0.5, None)
    assert agent.ask() is not None  # running when the interrupt comes

    def interrupted(trial):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "_propose", interrupted)
    with pytest.raises(KeyboardInterrupt):
        agent.ask()  # the engine claimed a third trial, then the interrupt
    released = agent.release_unfinished("interrupted by the user (SIGINT)")
    assert [r.state for r in released] == [TrialState.FAILED, TrialState.FAILED]
    assert tickets_taken(tickets) == 1  # the finished trial's: 6 - 1 owed on resume
    engine.close()


def test_agent_command_joins_the_sweep_and_replaces_the_folders():
    argv = ["app.py", "-m", "x=1,2", "hydra.sweep.dir=old", "hydra.sweeper.sweep_id=zz"]
    command = agent_command(argv, "abc", Path("/s"), "/j.log")
    assert command[1:4] == ["app.py", "-m", "x=1,2"]
    assert command[4:] == [
        "hydra.sweeper.sweep_id=abc",
        "hydra.sweep.dir=/s",
        "hydra.sweeper.storage=/j.log",
    ]


@pytest.mark.slow
def test_two_agents_share_count_and_each_trial_sees_its_agents_gpu(tmp_path):
    env_overrides = {"CUDA_VISIBLE_DEVICES": "3,5"}
    completed = subprocess.run(
        sweep_command(
            tmp_path,
            "x=interval(-2,2)",
            "hydra.sweeper.count=6",
            "hydra.sweeper.agents=2",
            "hydra.sweeper.trials_per_gpu=1",
            "sleep=0.3",
        ),
        cwd=tmp_path,
        env={**sweep_env(tmp_path), **env_overrides},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    jobs = trial_records(tmp_path)
    assert len(jobs) == 6 and results(tmp_path)["trials"]["finished"] == 6
    device_of_pid = {job["pid"]: job["env"]["CUDA_VISIBLE_DEVICES"] for job in jobs}
    assert len(device_of_pid) == 2  # two agents ran trials, each always on its own GPU
    assert sorted(device_of_pid.values()) == ["3", "5"]


@pytest.mark.slow
def test_agents_keep_run_cap_and_never_repeat_a_grid_point(tmp_path):
    run_sweep(tmp_path, *GRID, "hydra.sweeper.agents=3", "hydra.sweeper.run_cap=5")
    jobs = trial_records(tmp_path)
    points = [job["config"]["x"] for job in jobs]
    assert len(points) == 5 and len(set(points)) == 5


@pytest.mark.slow
def test_sigterm_stops_every_agent_and_releases_their_trials(tmp_path):
    log = (tmp_path / "sweep.log").open("w")
    parent = subprocess.Popen(
        sweep_command(tmp_path, *GRID, "hydra.sweeper.agents=2", "sleep=3"),
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while "agents run the sweep" not in (tmp_path / "sweep.log").read_text():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.1)
    while len(list((tmp_path / "multirun").glob("*/.hydra"))) < 2:  # both agents in a trial
        assert time.monotonic() < deadline
        time.sleep(0.1)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=120) != 0
    text = (tmp_path / "sweep.log").read_text()
    assert text.count("Resume this sweep with") == 1, text  # the parent's alone
    summary = results(tmp_path)["trials"]
    assert summary["running"] == 0 and summary["failed"] >= 1


def test_agents_must_be_a_positive_integer():
    with pytest.raises(SweepConfigError, match=r"hydra\.sweeper\.agents.*got 0"):
        read_settings({"agents": 0}, Path("."))


@pytest.mark.slow
def test_trials_per_gpu_without_a_visible_gpu_is_a_clear_error(tmp_path):
    completed = subprocess.run(
        sweep_command(
            tmp_path,
            *GRID,
            "hydra.sweeper.agents=2",
            "hydra.sweeper.trials_per_gpu=1",
        ),
        cwd=tmp_path,
        env={**sweep_env(tmp_path), "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode != 0
    assert "hydra.sweeper.trials_per_gpu" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not list((tmp_path / "multirun").glob("*/.hydra")), "a trial started"
    assert not (tmp_path / "journal.log").exists(), "an empty sweep was left behind"
