"""Ctrl+C and SIGTERM wait for a storage write in progress, then end the sweep; they end a
wait for another process at once."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from hydra_wandb_sweeper import interrupts
from hydra_wandb_sweeper.engine.local.locks import ProcessFileLock
from hydra_wandb_sweeper.interrupts import (
    CLEAN_UP_WAIT_SECONDS,
    Interrupted,
    deferred_interrupts,
    interrupts_as_exceptions,
    note_written,
    received,
    wait_limit,
)
from tests.support.lock_holder import LockHolder


@pytest.fixture(autouse=True)
def _forget_signals():
    """A signal a test sent is this process's for good: the next test starts without it."""
    yield
    interrupts._received.clear()


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_a_write_is_raised_when_the_write_ends(signum, exit_code):
    steps = []
    with interrupts_as_exceptions(), pytest.raises(Interrupted) as caught:
        with deferred_interrupts():
            os.kill(os.getpid(), signum)
            for step in range(1000):  # the handler has run long before this loop ends
                steps.append(step)
            with deferred_interrupts():  # nested writes end first
                steps.append("nested")
        steps.append("after")  # never reached
    assert steps[-1] == "nested" and len(steps) == 1001
    assert caught.value.exit_code == exit_code


def test_outside_a_write_the_signal_interrupts_at_once():
    with interrupts_as_exceptions(), pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):
            pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def _signal_this_process(signum: int) -> None:
    threading.Thread(target=os.kill, args=(os.getpid(), signum)).start()


def test_a_signal_ends_a_wait_for_a_lock_another_process_holds(tmp_path):
    holder = LockHolder(tmp_path / "lock")
    try:
        lock = ProcessFileLock(tmp_path / "lock")
        with interrupts_as_exceptions(), pytest.raises(Interrupted), deferred_interrupts():
            _signal_this_process(signal.SIGINT)  # before or during the wait: either ends it
            with lock.held():
                pytest.fail("the lock was taken while another process held it")
        assert holder.process.poll() is None  # the wait ended, not the holder
    finally:
        holder.release()


def test_a_write_begun_is_finished_before_the_signal_ends_the_process(tmp_path):
    holder = LockHolder(tmp_path / "lock")
    steps = []

    def signal_then_release() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        while received() is None:  # the handler has noted it
            time.sleep(0.01)
        holder.release()

    try:
        lock = ProcessFileLock(tmp_path / "lock")
        with interrupts_as_exceptions(), pytest.raises(Interrupted), deferred_interrupts():
            note_written()  # the first half of a write is done
            threading.Thread(target=signal_then_release).start()
            with lock.held():
                steps.append("second half")
        assert steps == ["second half"]
    finally:
        holder.release()


def test_after_a_signal_a_wait_for_a_lock_is_bounded(tmp_path):
    holder = LockHolder(tmp_path / "lock")
    try:
        lock = ProcessFileLock(tmp_path / "lock")
        with interrupts_as_exceptions(), pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10**6):
                pass
        # the clean-up after a signal gives up on a lock someone else keeps
        with pytest.raises(TimeoutError), lock.held():
            pass
        assert wait_limit() == CLEAN_UP_WAIT_SECONDS
    finally:
        holder.release()
