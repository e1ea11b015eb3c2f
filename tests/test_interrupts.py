"""Ctrl+C and SIGTERM wait for a storage write in progress, then end the sweep."""

from __future__ import annotations

import os
import signal

import pytest

from hydra_wandb_sweeper.interrupts import (
    Interrupted,
    deferred_interrupts,
    interrupts_as_exceptions,
)


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
