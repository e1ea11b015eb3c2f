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
