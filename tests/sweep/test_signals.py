"""Ctrl+C and SIGTERM end a sweep with 130 and 143 whatever the task does with them, within
seconds even while another process holds the storage, with one resume command that finishes
exactly what was asked."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.lock_holder import LockHolder
from tests.support.sweeper_helpers import results, split_printed, sweep_command, sweep_env

pytestmark = pytest.mark.slow

TRAIN = Path(__file__).resolve().parents[2] / "train.py"
GRID = ("x=choice(0,1,2)", "hydra.sweeper.method=grid")
SIGNALS = pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)
RESUME = re.compile(r"Resume this sweep with: (.*)$", re.MULTILINE)


class Sweep:
    """A sweeper process the test signals, its output in a log file."""

    def __init__(self, tmp_path: Path, command: list[str], name: str = "a") -> None:
        self.tmp_path = tmp_path
        self.log = tmp_path / f"{name}.log"
        self.process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=sweep_env(tmp_path),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait_for(self, path: Path, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            assert self.process.poll() is None, self.text
            assert time.monotonic() < deadline, f"{path} never appeared:\n{self.text}"
            time.sleep(0.05)

    def interrupt(self, signum: int, within: float) -> tuple[int, float]:
        """Send ``signum``; the exit code and how long the sweeper took to end."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"still running {within} s after the signal:\n{self.text}"
            ) from None
        return code, time.monotonic() - sent

    @property
    def text(self) -> str:
        return self.log.read_text()

    def resume_command(self) -> str:
        printed = RESUME.findall(self.text)
        assert len(printed) == 1, self.text  # one command, never one per process
        return printed[0]


def run_printed(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


def count_in(command: str) -> int:
    _, words = split_printed(command)
    [count] = [word.split("=", 1)[1] for word in words if word.startswith("hydra.sweeper.count=")]
    return int(count)


@SIGNALS
def test_a_signal_during_lightning_training_ends_with_its_exit_code(tmp_path, signum, exit_code):
    # Lightning catches the KeyboardInterrupt and calls sys.exit(1): the exit code and the
    # resume command must still be the signal's
    command = [
        sys.executable,
        str(TRAIN),
        "-m",
        "hydra/sweeper=wandb",
        f"hydra.sweep.dir={tmp_path / 'a'}",
        f"hydra.sweeper.storage={tmp_path / 'journal.log'}",
        "hydra.sweeper.method=grid",
        "optimizer.lr=choice(0.01,0.001)",
        "model=mlp",
        "logger=none",
        "trainer.max_epochs=1",
        "hydra.sweeper.count=2",
        "+callbacks.hold._target_=tests.support.training_hold.HoldTraining",
    ]
    sweep = Sweep(tmp_path, command)
    sweep.wait_for(tmp_path / "a" / "0" / "training")
    code, took = sweep.interrupt(signum, within=120)
    print(f"Lightning: exit {code} {took:.1f} s after the signal")
    assert code == exit_code, sweep.text
    assert "Interrupted (1)" not in sweep.text
    assert count_in(sweep.resume_command()) == 2  # the interrupted trial runs again
    assert results(tmp_path, "a")["trials"]["running"] == 0


@SIGNALS
def test_a_task_that_swallows_the_interrupt_still_ends_the_sweep(tmp_path, signum, exit_code):
    sweep = Sweep(
        tmp_path,
        sweep_command(
            tmp_path,
            *GRID,
            "hydra.sweeper.count=3",
            "hold_above=0.5",
            f"hold_until={tmp_path / 'go'}",
            "swallow_interrupt=true",
            sweep_dir="a",
        ),
    )
    sweep.wait_for(tmp_path / "a" / "1" / "started")
    code, _ = sweep.interrupt(signum, within=120)
    assert code == exit_code, sweep.text
    (tmp_path / "go").write_text("")  # point 2 is not held on resume
    # the task returned a result for point 1: kept; point 2 is left
    assert count_in(sweep.resume_command()) == 1
    resumed = run_printed(sweep.resume_command(), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert len(list((tmp_path / "a").glob("*/trial.json"))) == 3


def waiting_for_lock(pid: int) -> bool:
    """``pid`` waits for a POSIX lock (a ``->`` line of /proc/locks)."""
    text = Path("/proc/locks").read_text()
    return any(
        line.split()[1] == "->" and line.split()[5] == str(pid) for line in text.splitlines()
    )


@SIGNALS
def test_a_signal_ends_a_sweeper_waiting_for_the_journal_lock(tmp_path, signum, exit_code):
    go = tmp_path / "go"
    sweep = Sweep(
        tmp_path,
        sweep_command(tmp_path, *GRID, "hold_above=0.5", f"hold_until={go}", sweep_dir="a"),
    )
    sweep.wait_for(tmp_path / "a" / "1" / "started")
    holder = LockHolder(tmp_path / "journal.log.fcntl-lock")
    try:
        go.write_text("")  # point 1's job ends, and its result waits for the lock
        deadline = time.monotonic() + 60
        while not waiting_for_lock(sweep.process.pid):
            assert time.monotonic() < deadline and sweep.process.poll() is None, sweep.text
            time.sleep(0.05)
        code, took = sweep.interrupt(signum, within=60)
        print(f"journal lock held elsewhere: exit {code} {took:.1f} s after the signal")
        assert code == exit_code, sweep.text
        assert took < 15, f"{took:.1f} s to end"  # the clean-up waits at most 3 s
        resume = sweep.resume_command()
    finally:
        holder.release()
    resumed = run_printed(resume, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert results(tmp_path, "a")["trials"]["finished"] == 3


@SIGNALS
def test_a_signal_ends_a_sweeper_waiting_for_a_locked_sqlite_database(tmp_path, signum, exit_code):
    go, database = tmp_path / "go", tmp_path / "sweeps.db"
    storage = f"hydra.sweeper.storage=sqlite:///{database}"
    sweep = Sweep(
        tmp_path,
        [
            *sweep_command(tmp_path, *GRID, "hold_above=0.5", f"hold_until={go}", sweep_dir="a"),
            storage,
        ],
    )
    sweep.wait_for(tmp_path / "a" / "1" / "started")
    holder = sqlite3.connect(database, isolation_level=None, timeout=60)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
        go.write_text("")  # point 1's job ends, and its result waits for the database
        code, took = sweep.interrupt(signum, within=60)
        print(f"SQLite locked elsewhere: exit {code} {took:.1f} s after the signal")
        assert code == exit_code, sweep.text
        assert took < 15, f"{took:.1f} s to end"
        resume = sweep.resume_command()
    finally:
        holder.rollback()
        holder.close()
    resumed = run_printed(resume, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert results(tmp_path, "a")["trials"]["finished"] == 3


def test_ctrl_c_with_two_agents_prints_one_resume_command_that_finishes_the_count(tmp_path):
    sweep = Sweep(
        tmp_path,
        sweep_command(
            tmp_path,
            "x=interval(-2,2)",
            "hydra.sweeper.count=6",
            "hydra.sweeper.agents=2",
            "sleep=1",
            sweep_dir="a",
        ),
    )
    deadline = time.monotonic() + 180
    while not list((tmp_path / "a").glob("*/trial.json")):  # the first trial is done
        assert time.monotonic() < deadline and sweep.process.poll() is None, sweep.text
        time.sleep(0.05)
    code, _ = sweep.interrupt(signal.SIGINT, within=120)
    assert code == 130, sweep.text
    finished = results(tmp_path, "a")["trials"]["finished"]
    resume = sweep.resume_command()
    print(f"agents: exit {code}, {finished} finished, resume count {count_in(resume)}")
    assert count_in(resume) == 6 - finished
    resumed = run_printed(resume, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    print(f"after the resume: {results(tmp_path, 'a')['trials']['finished']} finished of 6")
    assert results(tmp_path, "a")["trials"]["finished"] == 6
