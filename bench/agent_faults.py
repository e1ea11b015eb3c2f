"""The cloud agent under the errors W&B really answers, beside the stock ``wandb agent``.

One fault per case, injected once by the project's test W&B server on an agent heartbeat
(the cases of tests/engine/cloud/test_agent_faults.py: W&B's 429 bodies, a 200 carrying
``errors``, 400, 503, an answer after 25 s). Each case runs a 3-point grid ``--reps`` times
with this sweeper's agent and with ``wandb agent --count 3`` on a sweep this sweeper created
(``count=0``), with wandb-core's own retry settings and W&B's 5 s heartbeat, as users run them.

Printed per case and agent: repetitions with 3 of 3 runs finished, exit codes, and how many
outputs held a traceback.

    python bench/agent_faults.py [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support

from tests.support.cloud_helpers import run_cloud
from tests.support.wandb_server.faults import HEARTBEAT_FAULT_CASES
from tests.support.wandb_server.fixture import start_server, stop_server
from tests.support.wandb_server.state import ENTITY

# each run trains longer than a heartbeat (5 s), so that a busy heartbeat happens
GRID = ("hydra.sweeper.method=grid", "x=0.0,1.0,2.0", "sleep=8", "use_wandb=true")


def one(agent: str, fault: dict[str, Any], workdir: Path) -> tuple[int, int, bool]:
    """(exit code, runs finished, a traceback in the output) of one run under ``fault``."""
    server = start_server(workdir / "server")
    try:
        env = server.client_env(workdir / "home")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        sweep_dir = workdir / "multirun"
        if agent == "ours":
            server.control(faults=[{"operation": "Heartbeat", **fault}])
            done = run_cloud("quadratic", sweep_dir, env, *GRID, check=False, timeout=600)
        else:
            created = run_cloud("quadratic", sweep_dir, env, *GRID, "hydra.sweeper.count=0")
            sweep_id = re.search(r"Create sweep with ID: (\w+)", created.stdout + created.stderr)
            assert sweep_id, created.stdout + created.stderr
            server.control(faults=[{"operation": "Heartbeat", **fault}])
            stock = [sys.executable, "-m", "wandb", "agent", "--count", "3"]
            done = subprocess.run(
                [*stock, f"{ENTITY}/tests/{sweep_id.group(1)}"],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
        state = server.state()
        assert state["faults_applied"], "the fault was never injected"
        finished = sum(run.get("state") == "finished" for run in state["runs"].values())
    finally:
        stop_server(server)
    return done.returncode, finished, "Traceback" in done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    print(f"3-point grid, one fault on a heartbeat, {args.reps} repetitions per cell")
    print(f"{'fault':<24} {'this sweeper':<32} {'wandb agent':<32}")
    for name, fault in HEARTBEAT_FAULT_CASES:
        cells = []
        for agent in ("ours", "stock"):
            outcomes = []
            for _ in range(args.reps):
                with tempfile.TemporaryDirectory() as workdir:
                    outcomes.append(one(agent, fault, Path(workdir)))
            complete = sum(finished == 3 for _, finished, _ in outcomes)
            codes = sorted({code for code, _, _ in outcomes})
            tracebacks = sum(traceback for _, _, traceback in outcomes)
            cells.append(
                f"{complete}/{args.reps} all runs, exit {','.join(map(str, codes))}, "
                f"{tracebacks} tb"
            )
        print(f"{name:<24} {cells[0]:<32} {cells[1]:<32}", flush=True)


if __name__ == "__main__":
    main()
