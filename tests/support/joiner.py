"""One process joining a sweep through the embedded engine, for the concurrency tests.

``python -m tests.support.joiner STORAGE SWEEP_ID OUT GO``: waits until the file GO exists
(so that every joiner starts at once), then takes trials until the sweep has none left,
writing one line ``pid number point`` per trial it ran to OUT.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine


def main(storage: str, sweep_id: str, out: str, go: str) -> None:
    engine = LocalEngine.join(storage, sweep_id)
    deadline = time.monotonic() + 120
    while not Path(go).exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with open(out, "w") as ran:
        while (trial := engine.ask()) is not None:
            point = trial.params["x"]
            ran.write(f"{os.getpid()} {trial.number} {point}\n")
            ran.flush()
            time.sleep(0.02)  # a short task, so that claims interleave
            engine.tell(trial, TrialState.FINISHED, float(point), None)
    engine.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
