"""Start and stop the test W&B server (by its PID) and give tests the client's environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import sweeps_venv

REPO_ROOT = Path(__file__).resolve().parents[3]
# A dummy key of the shape W&B expects (40 characters); tests check it never leaks.
API_KEY = "k" * 8 + "0123456789abcdef0123456789abcdef"


@dataclass
class WandbServer:
    url: str
    process: subprocess.Popen[bytes]

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_state", timeout=10) as response:
            return json.loads(response.read())

    def control(self, **body: Any) -> None:
        request = urllib.request.Request(
            f"{self.url}/_control", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [r for r in self.state()["requests"] if r["operationName"] == operation]

    def client_env(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of a process that talks to this server with the real client."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("WANDB_") and key != "HYDRA_WANDB_SWEEPER_TRIAL"
        }
        home.mkdir(parents=True, exist_ok=True)
        env.update(
            HOME=str(home),
            WANDB_BASE_URL=self.url,
            WANDB_API_KEY=API_KEY,
            WANDB_ERROR_REPORTING="false",
            WANDB_SILENT="true",
            WANDB_DISABLE_GIT="true",
            WANDB_MODE="online",
            # history reaches the server each second instead of every 15 s
            WANDB__FILE_STREAM_TRANSMIT_INTERVAL="1",
            PYTHONPATH=str(REPO_ROOT),
            PYTHONUNBUFFERED="1",
            HYDRA_FULL_ERROR="0",
        )
        env.update(extra)
        return env


def start_server(workdir: Path, timeout: float = 30.0) -> WandbServer:
    # the server's scheduler is W&B's, in a venv made once (not within the server's start-up)
    sweeps_venv.ensure()
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "port"
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.wandb_server.app", "--port-file", str(port_file)],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    deadline = time.monotonic() + timeout
    while not port_file.exists() or not port_file.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the test W&B server did not start: {workdir / 'server.log'}")
        time.sleep(0.05)
    return WandbServer(url=f"http://127.0.0.1:{port_file.read_text()}", process=process)


def stop_server(server: WandbServer) -> None:
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture
def wandb_server(tmp_path: Path) -> Iterator[WandbServer]:
    server = start_server(tmp_path / "wandb-server")
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def client_env(wandb_server: WandbServer, tmp_path: Path) -> dict[str, str]:
    return wandb_server.client_env(tmp_path / "home")
