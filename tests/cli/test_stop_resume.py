"""`stop` and `resume`: joined processes finish their current trial and exit; resume lets a
process join again and go on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.cli_helpers import assert_one_line_error, cli
from tests.support.sweeper_helpers import results, run_sweep, sweep_command, sweep_env
from tests.sweep.test_sweeper_resume import wait_for_jobs, wait_for_sweep_id

pytestmark = pytest.mark.slow

RANDOM = (
    "x=interval(0,1)",
    "hydra.sweeper.count=40",
    "hydra.sweeper.metric={name:loss,goal:minimize}",
)


def start(tmp_path: Path, name: str, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        sweep_command(tmp_path, *RANDOM, "sleep=0.3", *overrides, sweep_dir=name),
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        stdout=(tmp_path / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def test_stop_ends_every_process_after_its_trial_and_resume_goes_on(tmp_path):
    storage = ("--storage", str(tmp_path / "journal.log"))
    first = start(tmp_path, "a")
    sweep_id = wait_for_sweep_id(tmp_path / "a.log")
    processes = [first, start(tmp_path, "b", f"hydra.sweeper.sweep_id={sweep_id}")]
    wait_for_jobs(tmp_path / "b", 1)

    assert "stop requested" in cli(tmp_path, "stop", sweep_id, *storage).stdout
    for process in processes:
        assert process.wait(timeout=120) == 0
    summary = json.loads(cli(tmp_path, "show", sweep_id, "--json", *storage).stdout)
    assert summary["stopped"] is True
    # every trial that started finished: none was cut off or left running
    assert summary["trials"]["running"] == summary["trials"]["failed"] == 0
    done = summary["trials"]["finished"]
    assert 2 <= done < 80
    for name in ("a", "b"):
        assert f"Sweep {sweep_id} is stopped" in (tmp_path / f"{name}.log").read_text()
    assert "stop requested" in cli(tmp_path, "list", *storage).stdout

    # a process joining the stopped sweep runs nothing
    run_sweep(tmp_path, *RANDOM, f"hydra.sweeper.sweep_id={sweep_id}", sweep_dir="c")
    assert (
        json.loads(cli(tmp_path, "list", "--json", *storage).stdout)[0]["trials"]["finished"]
        == done
    )

    cli(tmp_path, "resume", sweep_id, *storage)
    run_sweep(
        tmp_path,
        "x=interval(0,1)",
        "hydra.sweeper.count=3",
        f"hydra.sweeper.sweep_id={sweep_id}",
        sweep_dir="d",
    )
    assert results(tmp_path, "d")["trials"]["finished"] == done + 3


def test_stop_of_an_unknown_or_wandb_sweep_is_one_line(tmp_path):
    run_sweep(tmp_path, "x=interval(0,1)", "hydra.sweeper.count=1")
    storage = ("--storage", str(tmp_path / "journal.log"))
    assert_one_line_error(cli(tmp_path, "stop", "nope", *storage, check=False), "no sweep 'nope'")
    assert_one_line_error(
        cli(tmp_path, "resume", "me/proj/abc", check=False), "wandb sweep --resume me/proj/abc"
    )
