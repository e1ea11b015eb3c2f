"""The embedded engine under abuse: kill -9 at random instants, trials that end their own
process or return garbage, a full disk, a read-only or locked storage, killed joblib workers.
Each test resumes with the command the sweeper printed, and checks that nothing finished was
lost, nothing ran twice and nothing was left running."""

from __future__ import annotations

import collections
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hydra_wandb_sweeper.engine.local.storage import open_storage
from tests.support.sweeper_helpers import results, split_printed, sweep_command, sweep_env

pytestmark = pytest.mark.slow
GRID_12 = ("x=range(0,12)", "hydra.sweeper.method=grid")


class Sweeper:
    """One sweeper process, its log, and the join command it printed."""

    def __init__(self, tmp_path: Path, command: list[str], name: str, **popen: object) -> None:
        self.log = tmp_path / f"{name}.log"
        self.cwd = tmp_path
        self.process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=sweep_env(tmp_path),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            **popen,  # type: ignore[arg-type]
        )

    def join_command(self, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"Join this sweep from another terminal or machine: (.*)", self.text)
            if found:
                # the command as printed, run in the launch folder: this test's folder
                folder, command = split_printed(found.group(1))
                assert folder == str(self.cwd), folder
                return command
            assert self.process.poll() is None, self.text
            time.sleep(0.05)
        raise AssertionError(f"no join command in {self.log}:\n{self.text}")

    def wait(self, timeout: float = 180) -> int:
        return self.process.wait(timeout=timeout)

    @property
    def text(self) -> str:
        return self.log.read_text()


def stored(tmp_path: Path, sweep_id: str, storage: str | None = None) -> list:
    spec = storage or str(tmp_path / "journal.log")
    study = optuna.load_study(study_name=sweep_id, storage=open_storage(spec))
    return [trial for trial in study.get_trials() if trial.state is not TrialState.WAITING]


def sweep_id_of(command: list[str]) -> str:
    found = next(arg for arg in command if arg.startswith("hydra.sweeper.sweep_id="))
    return found.split("=", 1)[1]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def finish(tmp_path: Path, command: list[str], name: str) -> Sweeper:
    sweeper = Sweeper(tmp_path, command, name)
    assert sweeper.wait() == 0, sweeper.text
    assert "Traceback" not in sweeper.text, sweeper.text
    return sweeper


# --- kill -9 at random instants ------------------------------------------------------------
def kill_at_random_instants(
    tmp_path: Path, overrides: tuple[str, ...], seed: int
) -> tuple[str, set[int]]:
    rng = random.Random(seed)
    first = Sweeper(tmp_path, sweep_command(tmp_path, *overrides, sweep_dir="a"), "run-0")
    command = first.join_command()
    sweep_id = sweep_id_of(command)
    sweeper, kills, kept = first, 0, set()
    for attempt in range(1, 30):
        # a random instant: during start-up, a claim, a task, or the record of a result
        if sweeper.process.poll() is None:
            time.sleep(rng.uniform(0.2, 2.5))
        if sweeper.process.poll() is None:
            sweeper.process.send_signal(signal.SIGKILL)
            sweeper.wait()
            kills += 1
        finished = {t.number for t in stored(tmp_path, sweep_id) if t.state is TrialState.COMPLETE}
        assert kept <= finished, "a finished trial was lost"
        kept = finished
        if kills == 5:
            break
        sweeper = Sweeper(tmp_path, command, f"run-{attempt}")
    assert kills == 5, "the sweep ended before it could be killed 5 times"
    finish(tmp_path, command, "last")
    runs = len(list((tmp_path / "a").glob("*/started")))
    print(f"{kills} kills; {runs} trials started for 12 finished")
    return sweep_id, kept


def test_kill_9_at_random_instants_during_a_grid(tmp_path):
    sweep_id, kept = kill_at_random_instants(tmp_path, (*GRID_12, "sleep=0.5"), seed=10)
    trials = stored(tmp_path, sweep_id)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert kept <= {t.number for t in complete}
    per_point = collections.Counter(t.params["x"] for t in complete)
    assert per_point == {x: 1 for x in range(12)}, "a point ran twice or never"
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    summary = results(tmp_path, "a")["trials"]
    assert summary == {"total": 12, "running": 0, "finished": 12, "failed": 0, "stopped": 0}


def test_kill_9_at_random_instants_during_a_random_sweep_with_run_cap(tmp_path):
    overrides = ("x=interval(0,1)", "hydra.sweeper.run_cap=12", "sleep=0.5")
    sweep_id, kept = kill_at_random_instants(tmp_path, overrides, seed=11)
    trials = stored(tmp_path, sweep_id)
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) == 12 and kept <= {t.number for t in complete}
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    summary = results(tmp_path, "a")["trials"]
    assert summary["finished"] == 12 and summary["running"] == 0


# --- trials that fail in every way -------------------------------------------------------------
ODD_TRIALS = (
    "x=range(0,5)",
    "hydra.sweeper.method=grid",
    "hydra.sweeper.metric={name:loss,goal:minimize}",
    "hydra.sweeper.max_failure_rate=1.0",
    "nan_at=1",
    "none_at=2",
    "fail_above=2.5",  # x=3 raises
    "crash_above=3.5",  # x=4 ends its own process: os._exit(3)
    "crash_with=exit3",
)


def check_odd_trials(tmp_path: Path, crash_error: str) -> None:
    summary = results(tmp_path, "a")
    assert summary["trials"]["finished"] == 1 and summary["trials"]["failed"] == 4
    errors = {entry["params"]["x"]: entry["error"] for entry in summary["failed_trials"]}
    assert "nan" in errors[1] and "None" in errors[2] and "ValueError" in errors[3]
    assert crash_error in errors[4]
    assert not any(entry["runs_again_on_resume"] for entry in summary["failed_trials"])


def test_odd_trials_in_process_a_hard_exit_is_given_up_after_a_few_resumes(tmp_path):
    sweeper = Sweeper(tmp_path, sweep_command(tmp_path, *ODD_TRIALS, sweep_dir="a"), "run-0")
    command = sweeper.join_command()
    codes = [sweeper.wait()]
    while codes[-1] != 0:
        assert len(codes) <= 4, f"the crashing point is run again forever: {codes}"
        codes.append(Sweeper(tmp_path, command, f"run-{len(codes)}").wait())
    assert codes == [3, 3, 3, 0]  # the task's own exit code ends the in-process sweeper
    check_odd_trials(tmp_path, "ended before the trial did")


def test_odd_trials_with_joblib_a_hard_exit_is_recorded_with_its_exit_code(tmp_path):
    launcher = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    command = sweep_command(tmp_path, *ODD_TRIALS, *launcher, sweep_dir="a")
    finish(tmp_path, command, "run")
    check_odd_trials(tmp_path, "exit code")
    runs = collections.Counter(
        Path(path).parent.joinpath(".hydra", "overrides.yaml").read_text().count("x=4")
        for path in (tmp_path / "a").glob("*/started")
    )
    assert runs[1] == 3, "the crashing point ran 3 times, alone, then was given up"


def test_max_failure_rate_does_not_stop_at_the_first_failure(tmp_path):
    overrides = ("x=choice(3,0,1)", "hydra.sweeper.method=grid", "fail_above=2.5")
    command = sweep_command(tmp_path, *overrides, "hydra.sweeper.max_failure_rate=0.5")
    finish(tmp_path, command, "run")
    assert results(tmp_path)["trials"]["finished"] == 2


# --- storage faults ----------------------------------------------------------------------------
def interrupt_by_storage_fault(
    tmp_path: Path, storage: str, break_it: Callable[[], None]
) -> list[str]:
    overrides = (*GRID_12, "sleep=0.5", f"hydra.sweeper.storage={storage}")
    sweeper = Sweeper(tmp_path, sweep_command(tmp_path, *overrides, sweep_dir="a"), "a")
    command = sweeper.join_command()
    wait_for(lambda: (tmp_path / "a" / "1" / "started").exists(), "the second trial")
    break_it()
    assert sweeper.wait() == 74, sweeper.text
    assert "Traceback" not in sweeper.text, sweeper.text
    return command


def test_a_full_disk_ends_the_sweep_in_a_sentence_and_the_resume_loses_nothing(tmp_path):
    journal = tmp_path / "journal.log"
    overrides = (*GRID_12, "sleep=0.1")
    first = Sweeper(tmp_path, sweep_command(tmp_path, *overrides, "hydra.sweeper.count=3"), "a")
    command = [arg for arg in first.join_command() if not arg.startswith("hydra.sweeper.count")]
    assert first.wait() == 0, first.text
    room = journal.stat().st_size + 4000  # room for a trial or two

    def fill_the_disk_at_room() -> None:  # the sweeper's files cannot grow past ``room``
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

    full = Sweeper(tmp_path, command, "full", preexec_fn=fill_the_disk_at_room)
    assert full.wait() == 74, full.text
    assert "the disk is full" in full.text and "Traceback" not in full.text, full.text
    assert journal.read_bytes().endswith(b"\n")
    before = {t.number for t in stored(tmp_path, sweep_id_of(command)) if t.state.is_finished()}
    assert len(before) > 3
    finish(tmp_path, command, "resume")
    trials = stored(tmp_path, sweep_id_of(command))
    assert before <= {t.number for t in trials if t.state.is_finished()}
    assert results(tmp_path)["trials"]["finished"] == 12


def test_a_storage_made_read_only_mid_sweep_ends_in_a_sentence(tmp_path):
    journal = tmp_path / "journal.log"

    def make_read_only() -> None:
        if os.geteuid() == 0:  # root writes through permissions, not through +i
            if subprocess.run(["chattr", "+i", str(journal)], capture_output=True).returncode:
                pytest.skip("chattr +i is not available here")
        else:
            journal.chmod(0o444)
            tmp_path.chmod(0o555)

    def make_writable() -> None:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(journal)], check=True)
        tmp_path.chmod(0o755)
        journal.chmod(0o644)

    try:
        command = interrupt_by_storage_fault(tmp_path, str(journal), make_read_only)
        assert "read-only" in (tmp_path / "a.log").read_text()
    finally:
        make_writable()
    finish(tmp_path, command, "resume")
    assert results(tmp_path, "a")["trials"]["finished"] == 12


def test_a_sqlite_database_locked_mid_sweep_ends_in_a_sentence(tmp_path):
    database = tmp_path / "sweeps.db"
    holder = sqlite3.connect(database, isolation_level=None, timeout=60)

    def lock_it() -> None:
        holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock

    storage = f"'sqlite:///{database}?timeout=1'"  # quoted: a Hydra override value with '='
    command = interrupt_by_storage_fault(tmp_path, storage, lock_it)
    assert "locked" in (tmp_path / "a.log").read_text()
    holder.rollback()
    holder.close()
    finish(tmp_path, command, "resume")
    assert results(tmp_path, "a")["trials"]["finished"] == 12


# --- killed sweeper, joblib workers ----------------------------------------------------------
def test_joblib_workers_of_a_killed_sweeper_finish_their_trial_and_exit(tmp_path):
    overrides = ("x=range(0,4)", "hydra.sweeper.method=grid", "sleep=3")
    launcher = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    sweeper = Sweeper(tmp_path, sweep_command(tmp_path, *overrides, *launcher, sweep_dir="a"), "a")
    command = sweeper.join_command()
    started = [tmp_path / "a" / str(number) / "started" for number in (0, 1)]
    wait_for(lambda: all(path.exists() for path in started), "both workers to start")
    workers = [int(path.read_text()) for path in started]
    sweeper.process.send_signal(signal.SIGKILL)
    sweeper.wait()
    # resumed at once: the workers' trials are neither failed nor computed again
    finish(tmp_path, command, "resume")
    for pid in workers:
        wait_for(lambda pid=pid: not _alive(pid), f"worker {pid} to exit", timeout=30)
    starts = collections.Counter(
        path.parent.joinpath(".hydra", "overrides.yaml").read_text()
        for path in (tmp_path / "a").glob("*/started")
    )
    assert sorted(starts.values()) == [1, 1, 1, 1], "a trial was computed twice"
    assert results(tmp_path, "a")["trials"]["finished"] == 4


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"  # a zombie has exited


# --- a huge grid -------------------------------------------------------------------------------
def time_to_first_trial(tmp_path: Path, overrides: tuple[str, ...], name: str) -> float:
    began = time.monotonic()
    sweeper = Sweeper(
        tmp_path,
        sweep_command(tmp_path, *overrides, "hydra.sweeper.count=1", sweep_dir=name),
        name,
    )
    wait_for(lambda: (tmp_path / name / "0" / "started").exists(), "the first trial")
    elapsed = time.monotonic() - began
    assert sweeper.wait() == 0, sweeper.text
    return elapsed


def test_a_billion_point_grid_starts_as_fast_as_a_tiny_one(tmp_path):
    tiny = time_to_first_trial(tmp_path, ("x=0,1", "hydra.sweeper.method=grid"), "tiny")
    axes = tuple(f"+p{index}=range(0,10)" for index in range(9))
    huge = time_to_first_trial(tmp_path, (*axes, "hydra.sweeper.method=grid"), "huge")
    print(f"first trial after {huge:.2f}s for 1e9 points, {tiny:.2f}s for 2 points")
    assert huge - tiny < 5
