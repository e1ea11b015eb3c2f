"""Test-wide settings: no network, no W&B account, no stray files in the checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.slurm import SlurmCluster, missing_binaries, running_cluster, wait_until

# Set before anything imports wandb: every run is offline, quiet, and never phones home.
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ["WANDB_ERROR_REPORTING"] = "false"
os.environ["WANDB_DISABLE_GIT"] = "true"
os.environ.pop("WANDB_API_KEY", None)
os.environ.pop("WANDB_SWEEP_ID", None)
os.environ.pop("WANDB_RUN_ID", None)
os.environ.pop("WANDB_SWEEP_PARAM_PATH", None)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


# What a sweep or a training run leaves in its launch folder (down to one job's folder);
# tests launch in tmp_path.
_LAUNCH_LEFTOVERS = {".wandb-sweeps": "*", "multirun": "*/*/*/*", "outputs": "*/*/*", "wandb": "*"}


def _leftovers() -> dict[str, int]:
    found = {}
    for name, pattern in _LAUNCH_LEFTOVERS.items():
        path = REPO_ROOT / name
        if path.exists():
            found[name] = sum(1 for _ in path.glob(pattern))
    journal = REPO_ROOT / ".wandb-sweeps" / "journal.log"
    if journal.exists():
        found["journal.log bytes"] = journal.stat().st_size
    return found


@pytest.fixture(autouse=True)
def _keep_the_checkout_clean():
    """Fails a test that writes sweep state or job outputs into the checkout: run sweeps with
    ``cwd=tmp_path`` (or set ``hydra.sweeper.storage`` and ``hydra.sweep.dir`` there)."""
    before = _leftovers()
    yield
    after = _leftovers()
    assert after == before, f"this test wrote into the checkout {REPO_ROOT}: {before} -> {after}"


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A one-node SLURM cluster for the whole test session (tests marked ``slurm``).

    ``SLURM_CONF`` points every client at it, in this process and the sweeps it starts.
    """
    missing = missing_binaries()
    if missing:
        pytest.skip(
            f"SLURM tests need {', '.join(missing)} (Debian: apt-get install slurm-wlm munge "
            "slurmdbd mariadb-server; .ci/run installs them)"
        )
    if os.geteuid() != 0:
        pytest.skip("SLURM tests start slurmd, which runs jobs as root here: run them as root")
    with (
        running_cluster(tmp_path_factory.mktemp("slurm")) as cluster,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in cluster.environment().items():
            patch.setenv(name, value)
        yield cluster


@pytest.fixture
def slurm(slurm_cluster: SlurmCluster) -> Iterator[SlurmCluster]:
    """The session's SLURM cluster, with an empty queue and an idle node before the test
    and an empty queue after it."""
    slurm_cluster.cancel_all()
    wait_until(lambda: slurm_cluster.node_state() == "idle", 60, "the SLURM node is not idle")
    yield slurm_cluster
    slurm_cluster.cancel_all()
