"""Running the test apps under ``engine: wandb`` against the test W&B server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.sweeper_helpers import run_checked
from tests.support.wandb_server.fixture import API_KEY

APPS = Path(__file__).resolve().parent / "apps"


def cloud_command(app: str, sweep_dir: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        str(APPS / app / "app.py"),
        "-m",
        "hydra/sweeper=wandb",
        "hydra.sweeper.engine=wandb",
        "hydra.sweeper.project=tests",
        f"hydra.sweep.dir={sweep_dir}",
        *overrides,
    ]


def run_cloud(
    app: str,
    sweep_dir: Path,
    env: dict[str, str],
    *overrides: str,
    check: bool = True,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    return run_checked(
        cloud_command(app, sweep_dir, *overrides),
        cwd=sweep_dir.parent,
        env=env,
        check=check,
        timeout=timeout,
    )


def assert_no_api_key(*texts: str, folders: tuple[Path, ...] = ()) -> None:
    """The API key appears in no output and in no file the sweep wrote."""
    for text in texts:
        assert API_KEY not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size < 20_000_000:
                assert API_KEY.encode() not in path.read_bytes(), path
