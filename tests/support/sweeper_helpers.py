"""Running the quadratic test app under the sweeper, as a user would from a shell."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

APP = Path(__file__).resolve().parent / "apps" / "quadratic" / "app.py"


def sweep_env(tmp_path: Path, quiet: bool = True) -> dict[str, str]:
    """The environment of a sweep run by a test; ``quiet=False``: wandb's console settings
    left as a user's would be, to see what the sweep prints."""
    env = dict(os.environ)
    env.update(
        HOME=str(tmp_path / "home"),
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_ERROR_REPORTING="false",
        HYDRA_FULL_ERROR="0",
        PYTHONUNBUFFERED="1",
    )
    for name in ("WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_SWEEP_PARAM_PATH", "WANDB_API_KEY"):
        env.pop(name, None)
    if not quiet:
        env.pop("WANDB_SILENT")
    return env


def split_printed(command: str) -> tuple[str, list[str]]:
    """A printed join, resume or re-run command (``sh -c 'cd "$0" && exec "$@"' DIR ...``):
    the folder it runs in, and the command it runs there."""
    words = shlex.split(command)
    assert words[:3] == ["sh", "-c", 'cd "$0" && exec "$@"'], words
    return words[3], words[4:]


def sweep_command(tmp_path: Path, *overrides: str, sweep_dir: str = "multirun") -> list[str]:
    return [
        sys.executable,
        str(APP),
        "-m",
        "hydra/sweeper=wandb",
        f"hydra.sweep.dir={tmp_path / sweep_dir}",
        f"hydra.sweeper.storage={tmp_path / 'journal.log'}",
        *overrides,
    ]


def run_sweep(
    tmp_path: Path,
    *overrides: str,
    check: bool = True,
    sweep_dir: str = "multirun",
    timeout: float = 300,
    quiet: bool = True,
) -> subprocess.CompletedProcess[str]:
    return run_checked(
        sweep_command(tmp_path, *overrides, sweep_dir=sweep_dir),
        cwd=tmp_path,
        env=sweep_env(tmp_path, quiet),
        check=check,
        timeout=timeout,
    )


def run_checked(
    command: list[str], *, cwd: Path, env: dict[str, str], check: bool, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a sweeper command to its end; with ``check``, a non-zero exit fails with its output."""
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"sweep failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    return completed


def results(tmp_path: Path, sweep_dir: str = "multirun") -> dict[str, Any]:
    return yaml.safe_load((tmp_path / sweep_dir / "optimization_results.yaml").read_text())


def trial_records(tmp_path: Path, sweep_dir: str = "multirun") -> list[dict[str, Any]]:
    """What every job recorded (trial.json), by job folder."""
    found = []
    for path in sorted((tmp_path / sweep_dir).glob("*/trial.json")):
        record = json.loads(path.read_text())
        record["dir"] = path.parent
        record["overrides"] = yaml.safe_load(
            (path.parent / ".hydra" / "overrides.yaml").read_text()
        )
        found.append(record)
    return found


@contextlib.contextmanager
def background_sweep(
    tmp_path: Path, command: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """A sweep running while the test acts on it; killed if the test leaves early."""
    sweep = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env or sweep_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield sweep
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()
