"""The journal survives what used to make it unreadable: a torn last line, garbage, a full
disk, a file made read-only, and a writer killed while it held the lock."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from hydra_wandb_sweeper.engine.local.journal import TORN_SUFFIX, SafeJournalBackend
from hydra_wandb_sweeper.engine.local.storage import open_storage, storage_faults
from hydra_wandb_sweeper.errors import SweepStorageError
from tests.conftest import REPO_ROOT


def make_sweep(path: Path, trials: int) -> str:
    study = optuna.create_study(storage=open_storage(str(path)), study_name="sweep")
    for value in range(trials):
        study.add_trial(optuna.trial.create_trial(value=float(value)))
    return "sweep"


def values(path: Path) -> list[float]:
    study = optuna.load_study(study_name="sweep", storage=open_storage(str(path)))
    return [trial.value for trial in study.get_trials()]


def test_a_torn_last_line_is_cut_before_the_next_write_and_kept_aside(tmp_path):
    path = tmp_path / "journal.log"
    make_sweep(path, 3)
    with path.open("ab") as file:
        file.write(b'{"op_code":6,"worker_id":"x","trial_id":2,"state"')  # a kill mid-write
    study = optuna.load_study(study_name="sweep", storage=open_storage(str(path)))
    study.add_trial(optuna.trial.create_trial(value=3.0))
    assert values(path) == [0.0, 1.0, 2.0, 3.0]
    # Optuna's own reader (optuna-dashboard, scripts) reads the repaired file too
    stock = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    assert len(optuna.load_study(study_name="sweep", storage=stock).get_trials()) == 4
    assert b'"trial_id":2,"state"' in Path(str(path) + TORN_SUFFIX).read_bytes()


def test_garbage_lines_are_skipped_and_an_operation_written_after_a_tear_is_recovered(tmp_path):
    path = tmp_path / "journal.log"
    make_sweep(path, 2)
    with path.open("ab") as file:
        file.write(b"\x00\xffgarbage\n")
        # an older writer appended a whole operation onto a torn line
        file.write(b'{"op_code":5,"wor' + _create_trial_line(path) + b"\n")
    assert values(path) == [0.0, 1.0, 7.0]


def test_an_operation_from_a_newer_version_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "journal.log"
    make_sweep(path, 2)
    with path.open("ab") as file:
        file.write(b'{"op_code":99,"worker_id":"x","trial_id":0,"new_field":1}\n')
    study = optuna.load_study(study_name="sweep", storage=open_storage(str(path)))
    study.add_trial(optuna.trial.create_trial(value=2.0))  # and the journal goes on
    assert values(path) == [0.0, 1.0, 2.0]
    assert "op_code 99" in caplog.text and "newer version" in caplog.text


def _create_trial_line(path: Path) -> bytes:
    scratch = path.with_name("scratch.log")
    make_sweep(scratch, 0)
    before = scratch.read_bytes()
    study = optuna.load_study(study_name="sweep", storage=open_storage(str(scratch)))
    study.add_trial(optuna.trial.create_trial(value=7.0))
    return scratch.read_bytes()[len(before) :].strip()


def test_a_full_disk_leaves_the_journal_as_it_was(tmp_path):
    path = tmp_path / "journal.log"
    make_sweep(path, 2)
    size = path.stat().st_size
    # a child whose files cannot grow past this size: its writes fail as on a full disk
    child = (
        "import sys, optuna\n"
        "from hydra_wandb_sweeper.engine.local.storage import open_storage, storage_faults\n"
        "study = optuna.load_study(study_name='sweep', storage=open_storage(sys.argv[1]))\n"
        "with storage_faults(sys.argv[1]):\n"
        "    for value in range(1000):\n"
        "        study.add_trial(optuna.trial.create_trial(value=float(value)))\n"
    )

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 1500, size + 1500))

    completed = subprocess.run(
        [sys.executable, "-c", child, str(path)],
        cwd=REPO_ROOT,
        preexec_fn=limit_file_size,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode != 0
    assert "the disk is full" in completed.stderr, completed.stderr
    assert path.read_bytes().endswith(b"\n")  # no torn line left behind
    written = values(path)
    assert written[:2] == [0.0, 1.0] and len(written) > 2


def test_a_failed_write_says_what_happened(tmp_path):
    error = OSError(errno.EROFS, "Read-only file system")
    with pytest.raises(SweepStorageError, match="read-only"), storage_faults("somewhere"):
        raise error


def test_a_writer_killed_holding_the_lock_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "journal.log"
    make_sweep(path, 1)
    holder = (
        "import os, signal, sys, time\n"
        "from hydra_wandb_sweeper.engine.local.journal import SafeJournalBackend\n"
        "backend = SafeJournalBackend(sys.argv[1])\n"
        "with backend.lock.held():\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder, str(path)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    started = time.monotonic()
    backend = SafeJournalBackend(str(path))
    backend.append_logs(
        [{"op_code": 0, "worker_id": "w", "study_name": "other", "directions": [1]}]
    )
    assert time.monotonic() - started < 2
