"""Hydra's own conformance suites for sweepers and launchers, with ``hydra/sweeper=wandb``.

The suites are the ones Hydra's plugins run (``hydra.test_utils.launcher_common_tests``);
here the sweeper is ours, in grid mode, and the launcher Hydra's basic one. Every job's W&B
sweep lives in a journal file under the test's temporary folder.
"""

from __future__ import annotations

import pytest
from hydra.test_utils.launcher_common_tests import (
    BatchedSweeperTestSuite,
    IntegrationTestSuite,
    LauncherTestSuite,
)


@pytest.fixture(autouse=True)
def _sweeps_in_tmp(tmp_path, monkeypatch):
    # the suites set hydra.sweep.dir; the default storage would land in the launch folder
    monkeypatch.chdir(tmp_path)


# Hydra's basic sweeper launches its whole grid in one batch; ours launches n_jobs (here
# max_batch_size, the basic sweeper's name for it) at a time. The suites look for each job's
# log in its working directory: Hydra's chdir into the job's folder, which the version base
# of an earlier test in this process may have turned off.
GRID = [
    "hydra/sweeper=wandb",
    "hydra.sweeper.method=grid",
    "hydra.sweeper.max_batch_size=2",
    "hydra.job.chdir=True",
]


@pytest.mark.parametrize("launcher_name, overrides", [("basic", GRID)])
class TestWandbSweeperWithBasicLauncher(LauncherTestSuite):
    pass


@pytest.mark.parametrize("launcher_name, overrides", [("basic", GRID)])
class TestWandbSweeperBatches(BatchedSweeperTestSuite):
    pass


@pytest.mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [({}, ["-m", "hydra/sweeper=wandb", "hydra/launcher=basic"])],
)
class TestWandbSweeperIntegration(IntegrationTestSuite):
    pass
