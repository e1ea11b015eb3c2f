"""Parallel trials without idle workers: 2 agents against 1 worker and the joblib batch mode.

Twelve CPU-bound trials (one thread each), alternately 4 s and 0.5 s of CPU, as hyperband
makes them (stopped at the first bracket, or run to the end), as one grid sweep:

- one worker: the basic launcher, one trial at a time;
- 2 agents: ``hydra.sweeper.agents=2``, two processes on the sweep, each taking a new trial as
  soon as its last one ends;
- joblib batches: ``hydra/launcher=joblib`` with ``n_jobs=2``, the loop's batch mode, which
  waits for both trials of a batch before it starts the next two.

Each job writes when it started and ended. Printed: trials per minute over the trial phase
(first trial's start to last trial's end) and over the whole command, as ratios against one
worker in the same run, and how idle the workers were during the trial phase.

    python bench/parallel.py [--rounds 1] [--long 4] [--short 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "busy" / "app.py"
TRIALS = 12
RUNS = {
    "1 worker": ([], 1),
    "2 agents": (["hydra.sweeper.agents=2"], 2),
    "joblib batches, n_jobs=2": (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], 2),
}


def run(extra: list[str], long: float, short: float, workdir: Path) -> dict[str, float]:
    sweep_dir = workdir / "multirun"
    command = [
        sys.executable,
        str(APP),
        "-m",
        "hydra/sweeper=wandb",
        f"hydra.sweep.dir={sweep_dir}",
        f"hydra.sweeper.storage={workdir / 'journal.log'}",
        "hydra.sweeper.method=grid",
        f"t=choice({','.join(str(t) for t in range(TRIALS))})",
        f"long={long}",
        f"short={short}",
        *extra,
    ]
    environment = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    start = time.time()
    completed = subprocess.run(
        command, cwd=workdir, env=environment, capture_output=True, text=True
    )
    end = time.time()
    if completed.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{completed.stderr[-3000:]}")
    spans = [json.loads(path.read_text()) for path in sweep_dir.glob("*/span.json")]
    assert len(spans) == TRIALS, f"{len(spans)} trials ran"
    first, last = min(s["start"] for s in spans), max(s["end"] for s in spans)
    busy = sum(s["end"] - s["start"] for s in spans)
    return {"command": end - start, "phase": last - first, "busy": busy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--long", type=float, default=4.0)
    parser.add_argument("--short", type=float, default=0.5)
    args = parser.parse_args()
    measured: dict[str, list[dict[str, float]]] = {name: [] for name in RUNS}
    for round_number in range(args.rounds):
        for name, (extra, _) in RUNS.items():
            with tempfile.TemporaryDirectory() as tmp:
                measured[name].append(run(extra, args.long, args.short, Path(tmp)))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

    def median(name: str, key: str) -> float:
        return statistics.median(row[key] for row in measured[name])

    print(
        f"\n{TRIALS} CPU-bound trials, alternately {args.long} s and {args.short} s, "
        f"median of {args.rounds} round(s)"
    )
    print(
        f"{'run':28} {'trials/min':>10} {'ratio':>6} {'idle':>6}   "
        f"{'whole command':>13} {'trials/min':>10} {'ratio':>6}"
    )
    base_phase, base_command = median("1 worker", "phase"), median("1 worker", "command")
    for name, (_, workers) in RUNS.items():
        phase, command = median(name, "phase"), median(name, "command")
        idle = 1 - median(name, "busy") / (workers * phase)
        print(
            f"{name:28} {60 * TRIALS / phase:10.1f} {base_phase / phase:6.2f} {idle:6.0%}   "
            f"{command:12.1f}s {60 * TRIALS / command:10.1f} {base_command / command:6.2f}"
        )


if __name__ == "__main__":
    main()
