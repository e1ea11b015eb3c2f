"""Search quality on the suite: the best loss after 10, 20 and 40 trials, ours against the peers.

Tasks (``tuning_tasks.py``): Branin, Hartmann-6, a 5-D mixed space, and three real tuning
tasks (an MLP on digits, an RBF SVC on breast_cancer, a random forest on wine). Methods
(``peers.py``): our default ``bayes`` (Optuna's GP model on numpy and scipy), the variants
measured before choosing it (``gp_torch``, Optuna's GPSampler on torch, among them), W&B's
engine, Optuna's GP and TPE as shipped, HEBO when its environment installs.

Every run (task, method, seed) is 40 trials; the losses are appended to a results file as
soon as the run ends, so the script resumes where it stopped and several processes can share
the work (``--shard 0/2`` and ``--shard 1/2``). ``--report`` prints the tables from the file
without running anything.

Regret is the best loss so far minus the task's optimum; for the tuning tasks, whose optimum
is unknown, the lowest loss any run in the file reached. Tables: median [quartiles] over the
seeds; our default's median regret divided by each peer's (below 1: ours is better) and the
share of seeds on which ours is ahead of the peer's run with the same seed (ties count half).

    python bench/search_suite.py [--seeds 20] [--tasks all] [--methods all] [--shard 0/1]
    python bench/search_suite.py --report
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers
from tuning_tasks import SLOW_TASKS, TASKS

CHECKPOINTS = (10, 20, 40)
RESULTS = Path(__file__).resolve().parent / "results" / "search_suite.jsonl"
# The sweeper's default bayes, under the name of the variant it is: Optuna's GP model on
# numpy and scipy (engine/local/numpy_gp.py), fitted on power-transformed scores, after 5
# Sobol start-up trials.
DEFAULT = "ours gp-numpy sobol5 warp"
# bayes_sampler: gp_torch, Optuna's GPSampler on torch (the default until the numpy GP
# measured level with it at 2-5x less CPU).
TORCH_GP = "ours gp sobol5 ls3"
# bayes_sampler: tpe after the same start-up (what bayes ran without torch before).
TPE_AFTER_SOBOL = "ours tpe sobol5"
PEERS = ("W&B bayes", "optuna gp", "optuna tpe", "hebo")


class Engines:
    """Peer engines in their own environments, started on first use."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._wandb: Any = None
        self._hebo: Any = None

    def wandb(self) -> Any:
        if self._wandb is None:
            from wandb_engine import WandbEngine

            self._wandb = self._stack.enter_context(WandbEngine())
        return self._wandb

    def hebo(self) -> Any:
        if self._hebo is None:
            from hebo_engine import HeboEngine

            self._hebo = self._stack.enter_context(HeboEngine())
        return self._hebo

    def close(self) -> None:
        self._stack.close()


def methods(engines: Engines) -> dict[str, peers.Run]:
    """Every method by its name in the results file (lazy: peers start when first run)."""

    def lazy(make: Any) -> peers.Run:
        return lambda task, seed, n: make()(task, seed, n)

    table: dict[str, peers.Run] = {
        # before: Optuna's 10 local searches of the acquisition function
        DEFAULT: peers.ours("bayes"),
        "ours gp-numpy sobol5 warp ls10": peers.ours("bayes", factory=peers.numpy_gp_factory(10)),
        # the numpy GP on standardised scores, without the power transform
        "ours gp-numpy sobol5": peers.ours(
            "bayes", factory=peers.numpy_gp_factory(output_warping=False)
        ),
        "ours gp-numpy sobol5 ls10": peers.ours(
            "bayes", factory=peers.numpy_gp_factory(10, output_warping=False)
        ),
        "ours gp-numpy sobol3": peers.ours(
            "bayes", ("gp", 3), factory=peers.numpy_gp_factory(output_warping=False)
        ),
        "ours gp-numpy sobol4": peers.ours(
            "bayes", ("gp", 4), factory=peers.numpy_gp_factory(output_warping=False)
        ),
        TORCH_GP: peers.ours("bayes", ("gp_torch", 5)),
        # gp_torch with Optuna's 10 local searches of the acquisition
        "ours gp sobol5": peers.ours("bayes", ("gp_torch", 5), factory=gp_factory(10)),
        TPE_AFTER_SOBOL: peers.ours("bayes", ("tpe", 5)),
        "W&B bayes": lazy(lambda: peers.wandb("bayes", engines.wandb())),
        "W&B random": lazy(lambda: peers.wandb("random", engines.wandb())),
        "optuna gp": peers.optuna_gp(),
        "optuna tpe": peers.optuna_tpe(),
        "hebo": lazy(lambda: peers.hebo(engines.hebo())),
    }
    return table


def gp_factory(local_searches: int) -> peers.SamplerFactory:
    """gp_torch with the GP's acquisition searched from another number of starting points."""
    from hydra_wandb_sweeper.engine.local import samplers

    return peers.model_factory(
        lambda seed: samplers.BoundedGPSampler(
            seed=seed,
            n_startup_trials=0,
            warn_independent_sampling=False,
            local_searches=local_searches,
        )
    )


# --- the results file ----------------------------------------------------------------------
def load(path: Path) -> dict[tuple[str, str, int], list[float]]:
    runs: dict[tuple[str, str, int], list[float]] = {}
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError, KeyError):
            entry = json.loads(line)
            runs[(entry["task"], entry["method"], entry["seed"])] = entry["values"]
    return runs


def append(path: Path, task: str, method: str, seed: int, values: list[float], cpu: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "task": task,
        "method": method,
        "seed": seed,
        "values": [float(f"{v:.7g}") for v in values],
        "cpu_s": round(cpu, 2),
    }
    # one write of one line, appended: processes sharing the file never interleave lines
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (json.dumps(entry) + "\n").encode())
    finally:
        os.close(fd)


def pending(
    done: dict[tuple[str, str, int], list[float]],
    tasks: list[str],
    names: list[str],
    seeds: int,
    shard: tuple[int, int],
) -> Iterator[tuple[str, str, int]]:
    """Seed by seed, so that every cell has as many seeds as the others when stopped early."""
    for seed in range(seeds):
        for task in tasks:
            for name in names:
                key = f"{task}/{name}/{seed}"
                if (task, name, seed) not in done and zlib.crc32(key.encode()) % shard[1] == shard[
                    0
                ]:
                    yield task, name, seed


# --- the tables ----------------------------------------------------------------------------
def regrets(
    runs: dict[tuple[str, str, int], list[float]], task: str
) -> dict[str, dict[int, list[float]]]:
    """Per method, per seed: the regret after each checkpoint."""
    optimum = TASKS[task].optimum
    if optimum is None:
        optimum = min(min(values) for (t, _, _), values in runs.items() if t == task)
    table: dict[str, dict[int, list[float]]] = {}
    for (t, method, seed), values in runs.items():
        if t != task or len(values) < max(CHECKPOINTS):
            continue
        best = np.minimum.accumulate(values)
        table.setdefault(method, {})[seed] = [
            max(0.0, float(best[c - 1] - optimum)) for c in CHECKPOINTS
        ]
    return table


def win_share(ours: dict[int, list[float]], peer: dict[int, list[float]], column: int) -> float:
    seeds = sorted(set(ours) & set(peer))
    score = sum(
        1.0
        if ours[s][column] < peer[s][column]
        else 0.5
        if ours[s][column] == peer[s][column]
        else 0
        for s in seeds
    )
    return score / len(seeds) if seeds else float("nan")


def ratio(ours: float, peer: float) -> str:
    if peer == 0:
        return "0/0" if ours == 0 else "inf"
    return f"{ours / peer:.3g}"


def report(runs: dict[tuple[str, str, int], list[float]], tasks: list[str]) -> None:
    for task in tasks:
        table = regrets(runs, task)
        if not table:
            continue
        seeds = {method: len(rows) for method, rows in table.items()}
        print(f"\n{task}: regret after {'/'.join(map(str, CHECKPOINTS))} trials, median [q1, q3]")
        print(f"{'method':34}{'seeds':>6} " + "".join(f"{'@' + str(c):>26}" for c in CHECKPOINTS))
        for method, rows in sorted(table.items()):
            cells = []
            for column in range(len(CHECKPOINTS)):
                q1, median, q3 = np.percentile([r[column] for r in rows.values()], [25, 50, 75])
                cells.append(f"{median:9.3g} [{q1:6.2g}, {q3:6.2g}]")
            print(f"{method:34}{seeds[method]:>6} " + "".join(f"{c:>26}" for c in cells))
        for label, name, against in (
            ("default", DEFAULT, PEERS),
            ("gp_torch", TORCH_GP, (DEFAULT, *PEERS)),
        ):
            if name not in table:
                continue
            ours = table[name]
            for peer in against:
                if peer not in table:
                    continue
                cells = []
                for column in range(len(CHECKPOINTS)):
                    mine = float(np.median([r[column] for r in ours.values()]))
                    theirs = float(np.median([r[column] for r in table[peer].values()]))
                    share = win_share(ours, table[peer], column)
                    cells.append(f"{ratio(mine, theirs)} (wins {share:.0%})")
                shown = "default" if peer == DEFAULT else peer
                print(f"  {label} / {shown:12} median regret: " + " | ".join(cells))


def markdown(runs: dict[tuple[str, str, int], list[float]], tasks: list[str]) -> None:
    """The default's median regret over each peer's at every checkpoint (bold: the peer is
    ahead), then the share of seeds on which the default is ahead, one row per task."""
    peers_run = [p for p in PEERS if any(p in regrets(runs, task) for task in tasks)]
    budgets = "/".join(map(str, CHECKPOINTS))
    header = "| task | " + " | ".join(f"vs {p} ({budgets})" for p in peers_run) + " |"
    rule = "|---|" + "---|" * len(peers_run)
    ratios, shares = [header, rule], [header.replace("vs ", "wins vs "), rule]
    for task in tasks:
        table = regrets(runs, task)
        if DEFAULT not in table:
            continue
        ours = table[DEFAULT]
        ratio_cells, share_cells = [], []
        for peer in peers_run:
            if peer not in table:
                ratio_cells.append("-")
                share_cells.append("-")
                continue
            texts, wins = [], []
            for column in range(len(CHECKPOINTS)):
                mine = float(np.median([r[column] for r in ours.values()]))
                theirs = float(np.median([r[column] for r in table[peer].values()]))
                text = ratio(mine, theirs)
                texts.append(f"**{text}**" if mine > theirs else text)
                wins.append(f"{win_share(ours, table[peer], column):.0%}")
            seeds = f" ({len(table[peer])} seeds)" if len(table[peer]) != len(ours) else ""
            ratio_cells.append(" / ".join(texts) + seeds)
            share_cells.append(" / ".join(wins))
        ratios.append(f"| {task} ({len(ours)} seeds) | " + " | ".join(ratio_cells) + " |")
        shares.append(f"| {task} | " + " | ".join(share_cells) + " |")
    print("\n" + "\n".join(ratios) + "\n\n" + "\n".join(shares))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--tasks", default="all")
    parser.add_argument("--methods", default="all", help="comma-separated names, or all")
    parser.add_argument("--shard", default="0/1", help="i/n: run every n-th pending run")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true", help="print the tables only")
    parser.add_argument("--markdown", action="store_true", help="and the ratios as markdown")
    args = parser.parse_args()
    everyday = [task for task in TASKS if task not in SLOW_TASKS]
    tasks = everyday if args.tasks == "all" else args.tasks.split(",")
    engines = Engines()
    table = methods(engines)
    names = list(table) if args.methods == "all" else args.methods.split(",")
    if not args.report:
        shard = tuple(int(part) for part in args.shard.split("/"))
        try:
            todo = pending(load(args.results), tasks, names, args.seeds, shard)  # type: ignore[arg-type]
            for task, name, seed in todo:
                start = time.process_time()
                values = table[name](TASKS[task], seed, max(CHECKPOINTS))
                cpu = time.process_time() - start
                append(args.results, task, name, seed, values, cpu)
                print(
                    f"{task} {name} seed {seed}: {min(values):.5g} ({cpu:.0f} s)", file=sys.stderr
                )
        finally:
            engines.close()
    report(load(args.results), tasks)
    if args.markdown:
        markdown(load(args.results), tasks)


if __name__ == "__main__":
    main()
