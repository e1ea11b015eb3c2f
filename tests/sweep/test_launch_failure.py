"""A launcher's failure read for what it was: a disk error under it is a storage fault."""

from __future__ import annotations

import errno
import os

from hydra_wandb_sweeper.sweep.launch_failure import disk_fault


def _raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as error:
            raise RuntimeError("a joblib worker failed") from error
    except RuntimeError as wrapped:
        return wrapped


def test_a_disk_error_under_a_launcher_failure_is_found():
    for code in (errno.EFBIG, errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        cause = OSError(code, os.strerror(code))
        assert disk_fault(cause) is cause
        assert disk_fault(_raised_from(cause)) is cause  # wrapped by the launcher


def test_other_launcher_failures_are_not_disk_faults():
    assert disk_fault(OSError(errno.ECONNRESET, "reset")) is None
    assert disk_fault(_raised_from(ValueError("a worker died"))) is None
