"""W&B's scheduler (the ``sweeps`` package) in a virtual environment of its own.

``sweeps`` pins numpy<2, which the project's environment cannot hold, so it lives in
``~/.cache/hydra-wandb-sweeper/sweeps-<version>`` (``$XDG_CACHE_HOME`` if set), created once
by ``python -m tests.support.sweeps_venv`` (CI runs it before the tests) or by the first test
that needs it. A file lock lets parallel test processes share one copy: the first creates it,
the others wait and reuse it. Creating it needs the package index; using it needs nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

SWEEPS_VERSION = "0.3.0"
# What W&B's scheduler needs beside itself; numpy<2 is the reason for a venv of its own.
REQUIREMENTS = (f"sweeps=={SWEEPS_VERSION}", "numpy<2")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hydra-wandb-sweeper"
VENV = CACHE / f"sweeps-{SWEEPS_VERSION}"
# Written last: a venv without it is a half-made one (an interrupted install), made again.
COMPLETE = VENV / ".complete"
WORKER = Path(__file__).with_name("sweeps_worker.py")


def python() -> Path:
    return VENV / "bin" / "python"


def ensure() -> Path:
    """The virtual environment's Python, the environment made first if it is missing."""
    if COMPLETE.exists():
        return python()
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"sweeps-{SWEEPS_VERSION}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not COMPLETE.exists():
            _create()
    return python()


def _create() -> None:
    if _usable():  # made before the marker existed
        COMPLETE.write_text(" ".join(REQUIREMENTS) + "\n")
        return
    print(f"installing W&B's sweeps package into {VENV} (once)", file=sys.stderr)
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    if not _usable():
        raise RuntimeError(f"W&B's sweeps package does not import in {VENV}")
    COMPLETE.write_text(" ".join(REQUIREMENTS) + "\n")


def _usable() -> bool:
    if not python().exists():
        return False
    probe = [str(python()), "-c", f"import sweeps; assert sweeps.__version__ == {SWEEPS_VERSION!r}"]
    return subprocess.run(probe, capture_output=True).returncode == 0


class SweepsError(Exception):
    """W&B's scheduler refused a request (its own message)."""


class SweepsProcess:
    """One long-lived :mod:`tests.support.sweeps_worker`; requests from many threads take turns.

    The worker ends when its stdin closes: at :meth:`close`, or when this process ends.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._process = subprocess.Popen(
            [str(ensure()), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()
        if seed is not None:
            self.request(op="seed", seed=seed)

    def request(self, **body: Any) -> dict[str, Any]:
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(body) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"W&B's sweeps worker exited ({self._process.poll()}); see stderr")
        answer = json.loads(line)
        if "error" in answer:
            raise SweepsError(answer["error"])
        return answer

    def next_run(self, config: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The next run's config (``{name: {"value": v}}``), None when a grid is done."""
        return self.request(op="next_run", config=config, runs=runs)["config"]

    def stop_runs(self, config: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
        """The names of the running runs W&B's early termination stops now."""
        return self.request(op="stop_runs", config=config, runs=runs)["stop"]

    def stop_runs_many(
        self, config: dict[str, Any], runs_list: list[list[dict[str, Any]]]
    ) -> list[list[str]]:
        """:meth:`stop_runs` for each list of runs, in one exchange with the worker."""
        return self.request(op="stop_runs_many", config=config, runs_list=runs_list)["stop"]

    def violations(self, config: dict[str, Any]) -> list[str]:
        return self.request(op="violations", config=config)["violations"]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)

    def __enter__(self) -> SweepsProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    print(ensure())
