"""Time to the first trial of a grid, by grid size, against a grid of 20 points.

Grid points are made from their index when they run (``engine/local/grid.py``), so creating
a sweep and claiming its first trials should cost the same for 20 points as for 10^9. For
each size this creates a sweep in a fresh journal file, claims and finishes 20 trials, and
prints the median time to the first trial and per later trial, as ratios against 20 points.

    python bench/huge_grid.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.searchspace.space import canonical_spec

TRIALS = 20


def definition(axes: int, values: int) -> SweepDefinition:
    spec = {"values": list(range(values))}
    return SweepDefinition(
        method="grid",
        metric_name=None,
        goal="minimize",
        target=None,
        parameters=tuple(
            (f"p{i}", f"p{i}", canonical_spec(f"p{i}", spec, where="")) for i in range(axes)
        ),
    )


def measure(axes: int, values: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        engine = LocalEngine.create(str(Path(folder) / "journal.log"), definition(axes, values))
        trial = engine.ask()
        first = time.perf_counter() - began
        assert trial is not None
        engine.tell(trial, TrialState.FINISHED, None, None)
        began = time.perf_counter()
        for _ in range(TRIALS - 1):
            trial = engine.ask()
            assert trial is not None
            engine.tell(trial, TrialState.FINISHED, None, None)
        later = (time.perf_counter() - began) / (TRIALS - 1)
        engine.close()
        return first, later


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    sizes = {"20 points": (1, 20), "10^4 points": (4, 10), "10^6 points": (6, 10)}
    sizes["10^9 points"] = (9, 10)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in sizes}
    for _ in range(rounds):  # interleaved, so that machine noise hits every size alike
        for name, (axes, values) in sizes.items():
            results[name].append(measure(axes, values))
    base_first = statistics.median(first for first, _ in results["20 points"])
    base_later = statistics.median(later for _, later in results["20 points"])
    print(f"{'grid':<14}{'first trial':>14}{'ratio':>8}{'per trial':>12}{'ratio':>8}")
    for name, runs in results.items():
        first = statistics.median(f for f, _ in runs)
        later = statistics.median(t for _, t in runs)
        print(
            f"{name:<14}{first * 1000:>11.1f} ms{first / base_first:>7.2f}x"
            f"{later * 1000:>9.1f} ms{later / base_later:>7.2f}x"
        )


if __name__ == "__main__":
    main()
