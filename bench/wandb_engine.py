"""W&B's engine beside ours: the ``sweeps`` package in its own virtual environment.

``sweeps`` pins numpy<2, so it cannot live in the project's environment: it lives in the
cached venv the tests use (``python -m tests.support.sweeps_venv`` makes it once, under
``~/.cache/hydra-wandb-sweeper``); the benchmark talks to it through ``sweeps_worker.py``
over stdin/stdout JSON lines (that worker also times ``sweeps.next_run``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from tests.support.sweeps_venv import ensure as ensure_venv

WORKER = Path(__file__).resolve().parent / "sweeps_worker.py"


class WandbEngine:
    """One long-lived worker process; ``suggest`` is one ``sweeps.next_run`` call."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [str(ensure_venv()), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def suggest(
        self,
        config: dict[str, Any],
        runs: list[tuple[dict[str, Any], float]],
        seed: int | None,
    ) -> tuple[dict[str, Any], float]:
        """The next run's parameters, and the CPU seconds W&B's engine took to choose them."""
        assert self._process.stdin is not None and self._process.stdout is not None
        request = {"config": config, "runs": [list(run) for run in runs], "seed": seed}
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("W&B's sweeps worker exited; run it by hand to see why")
        answer = json.loads(line)
        return answer["params"], answer["cpu_s"]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)

    def __enter__(self) -> WandbEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
