"""The POSIX locks between a sweep's processes: a stopped holder is named to those waiting."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from hydra_wandb_sweeper.engine.local.locks import ProcessFileLock
from tests.support.lock_holder import LockHolder


def test_a_process_waiting_for_a_stopped_holder_says_which_one(tmp_path, caplog):
    holder = LockHolder(tmp_path / "lock")
    os.kill(holder.process.pid, signal.SIGSTOP)  # Ctrl+Z while it holds the lock
    stat = Path(f"/proc/{holder.process.pid}/stat")
    while stat.read_text().rsplit(") ", 1)[1][0] != "T":  # the signal is delivered
        time.sleep(0.01)
    taken = threading.Event()

    def take() -> None:
        with ProcessFileLock(tmp_path / "lock").held():
            taken.set()

    try:
        with caplog.at_level(logging.WARNING):
            threading.Thread(target=take, daemon=True).start()
            deadline = time.monotonic() + 60
            while f"process {holder.process.pid}" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.05)
        assert f"kill -CONT {holder.process.pid}" in caplog.text and not taken.is_set()
    finally:
        os.kill(holder.process.pid, signal.SIGCONT)
        holder.release()
    assert taken.wait(60)
