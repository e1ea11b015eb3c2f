"""HEBO beside ours, in its own virtual environment.

HEBO pins numpy<1.25 and pymoo 0.6.0, so it cannot live in the project's environment. The
first use creates ``~/.cache/hydra-wandb-sweeper-bench/hebo`` (``python -m venv``, then
``pip install hebo`` with the pins its wheels need) and later uses reuse it; the suite talks
to it through ``hebo_worker.py`` over stdin/stdout JSON lines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

CACHE = Path.home() / ".cache" / "hydra-wandb-sweeper-bench"
VENV = CACHE / "hebo"
WORKER = Path(__file__).resolve().parent / "hebo_worker.py"
PACKAGES = [
    "hebo==0.3.6",
    "torch==2.13.0",  # the CPU build: a plain torch requirement pulls a multi-GB CUDA one
    "numpy<1.25",
    "scipy<1.12",
    "contourpy<1.3",
    "matplotlib<3.9",
    "pandas<2.2",
    "scikit-learn<1.4",
]


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import hebo.optimizers.hebo"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"installing HEBO into {VENV} (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    # --prefer-binary, not --only-binary: pymoo 0.6.0 (HEBO's pin) has no wheel for every
    # Python, and its source distribution builds here.
    install = [str(python), "-m", "pip", "install", "-q", "--prefer-binary", *PACKAGES]
    subprocess.run(install, check=True)
    return python


def available() -> bool:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import hebo.optimizers.hebo"]
    return python.exists() and subprocess.run(probe, capture_output=True).returncode == 0


class HeboEngine:
    """One long-lived worker process holding one HEBO optimiser at a time."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [str(ensure_venv()), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the HEBO worker exited; run it by hand to see why")
        return json.loads(line)

    def start(self, parameters: dict[str, Any], seed: int) -> None:
        self._ask({"op": "start", "parameters": parameters, "seed": seed})

    def suggest(self) -> dict[str, Any]:
        return self._ask({"op": "suggest"})["params"]

    def observe(self, params: dict[str, Any], value: float) -> None:
        self._ask({"op": "observe", "params": params, "value": value})

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)

    def __enter__(self) -> HeboEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
