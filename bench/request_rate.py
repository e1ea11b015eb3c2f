"""Requests per minute a W&B server sees from one cloud sweep: this sweeper's agents with
``n_jobs=4`` (joblib) and with ``agents=4``, beside four stock ``wandb agent`` processes on a
sweep of the same shape.

W&B limits an API key's requests per minute (about 50 on free plans), and every trial is
also a W&B run that talks to the server itself: what matters is that our agents add no more
than as many stock agents do. Each trial is the quadratic test app logging to W&B and
sleeping ``--trial-seconds``; a grid of ``--trials`` points, 4 at a time. Runs against the
project's loopback test W&B server, which records every GraphQL request.

Printed per scenario: GraphQL requests per minute over the sweep (from the first request to
the last), the agents' own share (CreateAgent, Heartbeat) and the rest (the runs', and a
process's start), requests per finished run, and the ratio of each to the stock agents'.

    python bench/request_rate.py [--trials 8] [--trial-seconds 20]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from tests.support.wandb_server.fixture import start_server, stop_server
from tests.support.wandb_server.state import ENTITY

APP = Path(__file__).resolve().parent.parent / "tests" / "support" / "apps" / "quadratic"
AGENT_OPERATIONS = {"CreateAgent", "Heartbeat"}
PARALLEL = 4


def _project(root: Path) -> Path:
    shutil.copytree(APP, root / "app", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _sweep_command(root: Path, trials: int, trial_seconds: float, *extra: str) -> list[str]:
    points = ",".join(str(round(0.1 * i, 1)) for i in range(trials))
    return [
        sys.executable,
        "app/app.py",
        "-m",
        "hydra/sweeper=wandb",
        "hydra.sweeper.engine=wandb",
        "hydra.sweeper.project=rate",
        "hydra.sweeper.method=grid",
        f"hydra.sweep.dir={root / 'multirun'}",
        "use_wandb=true",
        f"sleep={trial_seconds}",
        f"x={points}",
        *extra,
    ]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def scenario(name: str, trials: int, trial_seconds: float, workdir: Path) -> dict[str, Any]:
    server = start_server(workdir / "server")
    try:
        root = _project(workdir / "project")
        env = server.client_env(workdir / "home")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        env.pop("WANDB__FILE_STREAM_TRANSMIT_INTERVAL")  # the client's own default (15 s)
        if name == "n_jobs=4":
            extra = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={PARALLEL}"]
            _run(
                _sweep_command(
                    root, trials, trial_seconds, *extra, f"hydra.sweeper.n_jobs={PARALLEL}"
                ),
                root,
                env,
            )
        elif name == "agents=4":
            _run(
                _sweep_command(root, trials, trial_seconds, f"hydra.sweeper.agents={PARALLEL}"),
                root,
                env,
            )
        else:  # the sweep created with count=0, then the stock agents
            created = _run(
                _sweep_command(root, trials, trial_seconds, "hydra.sweeper.count=0"), root, env
            )
            started = len(server.state()["requests"])
            sweep_id = re.search(r"Create sweep with ID: (\w+)", created).group(1)
            agents = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "wandb",
                        "agent",
                        "--count",
                        str(trials // PARALLEL),
                        f"{ENTITY}/rate/{sweep_id}",
                    ],
                    cwd=root,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(PARALLEL)
            ]
            for agent in agents:
                agent.wait()
        state = server.state()
        requests = state["requests"][started:] if name == "stock" else state["requests"]
        finished = sum(run.get("state") == "finished" for run in state["runs"].values())
    finally:
        stop_server(server)
    times = [request["at"] for request in requests]
    minutes = (max(times) - min(times)) / 60
    operations = collections.Counter(request["operationName"] for request in requests)
    agent = sum(count for op, count in operations.items() if op in AGENT_OPERATIONS)
    return {
        "total": len(requests) / minutes,
        "agent": agent / minutes,
        "runs": (len(requests) - agent) / minutes,
        "per_trial": len(requests) / max(1, finished),
        "minutes": minutes,
        "finished": finished,
        "operations": operations,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--trial-seconds", type=float, default=20.0)
    args = parser.parse_args()
    results = {}
    for name in ("stock", "n_jobs=4", "agents=4"):
        with tempfile.TemporaryDirectory() as workdir:
            results[name] = scenario(name, args.trials, args.trial_seconds, Path(workdir))
    stock = results["stock"]
    print(
        f"{args.trials} trials of {args.trial_seconds:g} s, {PARALLEL} at a time; GraphQL "
        "requests per minute (ratio to 4 stock `wandb agent`s)"
    )
    print(
        f"{'scenario':<10} {'runs done':>9} {'minutes':>7} {'all':>14} {'agents':>14} {'runs':>14}"
    )
    for name, result in results.items():
        cells = [
            f"{result[key]:6.1f} ({result[key] / stock[key]:4.2f})"
            for key in ("total", "agent", "runs", "per_trial")
        ]
        print(
            f"{name:<10} {result['finished']:>9} {result['minutes']:7.2f} "
            + " ".join(f"{cell:>14}" for cell in cells)
        )
    for name, result in results.items():
        top = ", ".join(f"{op} {count}" for op, count in result["operations"].most_common())
        print(f"  {name}: {top}")


if __name__ == "__main__":
    main()
