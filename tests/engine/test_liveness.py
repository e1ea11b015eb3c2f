"""Orphans: a running trial whose processes are gone is found, on the same machine, by its
owner's pid (its start time, so that a reused pid keeps nothing running forever; a zombie is
gone) and elsewhere by heartbeat age; an owner whose trial was taken for an orphan keeps its
result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from optuna.trial import TrialState as OptunaState
from optuna.trial import create_trial

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local import liveness
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.engine.local.liveness import identity, is_orphan, why_orphaned
from tests.support.engines import definition


def running(owner: dict, heartbeat: float | None = None) -> object:
    attrs = {"owner": owner, "heartbeat": time.time() if heartbeat is None else heartbeat}
    trial = create_trial(state=OptunaState.RUNNING, user_attrs=attrs)
    trial.datetime_start = datetime.now()
    return trial


@pytest.fixture
def other_process():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_live_owner_keeps_its_trial(other_process):
    assert not is_orphan(running(identity(other_process)), time.time())


def test_a_dead_owner_leaves_an_orphan():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = identity(process.pid)
    process.wait()
    assert is_orphan(running(owner), time.time())


def test_a_reused_pid_does_not_keep_a_dead_owners_trial(other_process):
    # the pid is alive, but it is another process than the one that claimed the trial
    owner = {**identity(other_process), "start": identity(other_process)["start"] - 100}
    assert is_orphan(running(owner), time.time())


def test_a_suspended_owner_keeps_its_trial_however_late_its_heartbeat(other_process):
    # Ctrl+Z, SIGSTOP, a debugger: it goes on with its trial when it continues
    os.kill(other_process, signal.SIGSTOP)
    try:
        stale = time.time() - liveness.STALE_AFTER_SECONDS - 1
        assert not is_orphan(running(identity(other_process), heartbeat=stale), time.time())
    finally:
        os.kill(other_process, signal.SIGCONT)


def test_a_killed_owner_not_yet_reaped_leaves_an_orphan_at_once():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = identity(process.pid)
    process.kill()
    while Path(f"/proc/{process.pid}/stat").read_text().split(") ")[1][0] != "Z":
        time.sleep(0.01)  # the kernel has ended it; its parent (this test) has not reaped it
    try:
        assert is_orphan(running(owner), time.time())
    finally:
        process.wait()


def test_another_machine_is_judged_by_its_heartbeat():
    elsewhere = {"host": "elsewhere", "boot": None, "pid": 1, "start": 1}
    assert not is_orphan(running(elsewhere), time.time())
    assert is_orphan(running(elsewhere, heartbeat=time.time() - 3600), time.time())


def test_a_late_heartbeat_is_not_said_to_be_a_process_that_ended():
    # a laptop lid closed past the heartbeat window: suspended, perhaps, not ended
    elsewhere = {"host": "elsewhere", "boot": None, "pid": 7, "start": 1}
    late = running(elsewhere, heartbeat=time.time() - 3600)
    why = why_orphaned(late, time.time())
    print(why)
    assert why.startswith("its process (elsewhere:7) sent no heartbeat for 3600 s")
    assert "suspended" in why and "ended before" not in why
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    here = identity(process.pid)
    process.wait()
    assert "ended before the trial did" in why_orphaned(running(here), time.time())


def test_a_trial_taken_for_an_orphan_keeps_its_result(tmp_path, monkeypatch):
    storage = str(tmp_path / "journal.log")
    owner = LocalEngine.create(storage, definition("grid", {"x": {"values": [0, 1]}}))
    trial = owner.ask()
    assert trial is not None
    # another process judges the trial an orphan (its heartbeat was late) and fails it
    monkeypatch.setattr("hydra_wandb_sweeper.engine.local.engine.is_orphan", lambda *a: True)
    joiner = LocalEngine.join(storage, owner.sweep_id)
    monkeypatch.undo()
    owner.tell(trial, TrialState.FINISHED, 1.5, None)  # no UpdateFinishedTrialError
    records = {record.params["x"]: record for record in joiner.records()}
    assert records[trial.params["x"]].state is TrialState.FINISHED
    assert records[trial.params["x"]].value == 1.5
    owner.close()
    joiner.close()


def test_the_pid_check_needs_the_process_start_time():
    me = identity()
    assert me["pid"] == os.getpid() and isinstance(me["start"], int)


def test_closing_an_engine_ends_its_heartbeat_thread(tmp_path):
    # A daemon thread left running into interpreter shutdown can be the one that frees the
    # GP model's torch tensors, and torch then aborts the process at exit.
    engine = LocalEngine.create(
        str(tmp_path / "journal.log"), definition("grid", {"x": {"values": [0, 1]}})
    )
    assert any(thread.name == "sweep-heartbeat" for thread in threading.enumerate())
    engine.close()
    assert not any(thread.name == "sweep-heartbeat" for thread in threading.enumerate())
