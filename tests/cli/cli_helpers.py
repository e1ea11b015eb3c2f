"""Running the command-line tool as a user would: ``python -m hydra_wandb_sweeper ...``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.sweeper_helpers import sweep_env


def cli(
    tmp_path: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "hydra_wandb_sweeper", *args],
        cwd=tmp_path,
        env=env or sweep_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"exit {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
        )
    return completed


def assert_one_line_error(completed: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert completed.returncode == 1, completed
    assert "Traceback" not in completed.stderr + completed.stdout
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), completed.stderr
    for fragment in fragments:
        assert fragment in lines[0]
