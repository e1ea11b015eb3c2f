"""Test-wide settings: no network, no W&B account, no stray files in the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
