"""What a new process pays as a sweep grows: joining it and running one trial, starting a new
sweep in the same journal (the shared default one) and running its first trial, ``show`` and
``list``, against the same commands on a 1-trial sweep, each in a fresh process.

A random sweep over the 5-D mixed space is grown to N trials (1, 1000, 5000) through the
engine's own ``ask``/``tell``, so its journal holds what a real sweep's does. Then each
command runs in its own process (three times; the median): CPU seconds of the process
(children's rusage) and wall seconds. "without snapshot" is the same command after the
journal's snapshot file is moved away, so the whole journal is replayed (as before
snapshots). Random, not bayes, so that the ratio is the sweep's size and not the GP's
first import of torch (``suggestion_cost.py`` measures the bayes suggestion).

    python bench/growth.py [--sizes 1,1000,5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.engine.local.journal import SNAPSHOT_SUFFIX

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import definition
from tuning_tasks import TASKS

TASK = TASKS["mixed"]
BENCH = str(Path(__file__).resolve().parent)
JOIN = """
import sys
from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
engine = LocalEngine.join(sys.argv[1], sys.argv[2], seed=1)
trial = engine.ask()
engine.tell(trial, TrialState.FINISHED, 1.0, None)
engine.close()
"""
# A new sweep in the same journal (the shared default one) beside the grown sweep.
CREATE = """
import sys
sys.path.insert(0, sys.argv[2])
from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from peers import definition
from tuning_tasks import TASKS
engine = LocalEngine.create(sys.argv[1], definition("random", TASKS["mixed"].parameters), seed=1)
trial = engine.ask()
engine.tell(trial, TrialState.FINISHED, 1.0, None)
engine.close()
"""
CLI = [sys.executable, "-c", "from hydra_wandb_sweeper.cli.app import main; main()"]


def grow(storage: str, size: int) -> str:
    engine = LocalEngine.create(storage, definition("random", TASK.parameters), seed=0)
    try:
        for _ in range(size):
            trial = engine.ask()
            assert trial is not None
            engine.tell(trial, TrialState.FINISHED, TASK.objective(trial.params), None)
    finally:
        engine.close()
    return engine.sweep_id


def timed(command: list[str]) -> tuple[float, float]:
    """CPU and wall seconds of one process running ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def commands(storage: str, sweep_id: str) -> dict[str, list[str]]:
    return {
        "join + one trial": [sys.executable, "-c", JOIN, storage, sweep_id],
        "new sweep beside it + one trial": [sys.executable, "-c", CREATE, storage, BENCH],
        "show": [*CLI, "show", sweep_id, "--storage", storage],
        "list": [*CLI, "list", "--storage", storage],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,1000,5000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: dict[str, dict[int, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            storage = os.path.join(tmp, f"sweep-{size}.log")
            sweep_id = grow(storage, size)
            snapshot = Path(storage + SNAPSHOT_SUFFIX)
            for variant in ("", " without snapshot"):
                if variant and snapshot.exists():
                    snapshot.rename(snapshot.with_suffix(".moved"))
                for name, command in commands(storage, sweep_id).items():
                    runs = [timed(command) for _ in range(args.repeats)]
                    cpu = statistics.median(run[0] for run in runs)
                    wall = statistics.median(run[1] for run in runs)
                    rows.setdefault(name + variant, {})[size] = (cpu, wall)
            print(f"{size} trials measured", file=sys.stderr)
    print(f"\nCPU s (wall s) of a new process, median of {args.repeats}; ratio to 1 trial")
    print(f"{'command':48}" + "".join(f"{size:>20}" for size in sizes) + f"{'ratio':>8}")
    for name, cells in rows.items():
        text = "".join(f"{cells[s][0]:>11.3f} ({cells[s][1]:5.2f})" for s in sizes)
        print(f"{name:48}{text}{cells[sizes[-1]][0] / cells[sizes[0]][0]:>8.2f}")


if __name__ == "__main__":
    main()
