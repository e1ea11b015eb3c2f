"""Opening the embedded engine's storage: what is refused, and SQLite's busy waits."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest

from hydra_wandb_sweeper import interrupts
from hydra_wandb_sweeper.engine.local.storage import open_storage
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.interrupts import (
    Interrupted,
    deferred_interrupts,
    interrupts_as_exceptions,
)


@pytest.fixture(autouse=True)
def _forget_signals():
    yield
    interrupts._received.clear()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused(url):
    with pytest.raises(SweepConfigError, match=r"hydra\.sweeper\.storage.*in-memory"):
        open_storage(url)


def test_a_signal_ends_a_wait_for_a_busy_sqlite_database(tmp_path):
    database = tmp_path / "s.db"
    storage = open_storage(f"sqlite:///{database}")
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program writes, for as long as it likes
    began = time.monotonic()
    try:
        with interrupts_as_exceptions(), pytest.raises(Interrupted), deferred_interrupts():
            threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)).start()
            storage.create_new_study([], "s")  # waits: the write lock is held
    finally:
        holder.rollback()
        holder.close()
    assert time.monotonic() - began < 30  # not the 60 s busy timeout
