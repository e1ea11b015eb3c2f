"""The combination matrix: the storages, methods, launchers, early termination, agents and
engines the README documents, swept together as a user combines them.

Each cell is a short sweep of the curves app (a trial reports a learning curve, so early
termination has something to stop) run by one command, then a second process that joins it
by id and runs the rest; the cell passes when the sweep holds every trial it was asked for,
each finished or stopped by early termination, and a grid point ran at most once.

The full product (3 storages x 4 methods x 3 launchers x 2 x 2, and the cloud engine) is
too slow for CI, so the cells are a pairwise covering design: every pair of values of any
two factors of the local engine is swept together in at least one cell
(``test_the_cells_cover_every_pair`` checks it), and the cloud engine (W&B's test server;
its storage is the server, and the server leaves bayes proposals to W&B) covers each of its
methods, launchers, early termination on/off and agents 1/2. ``submitit_slurm`` runs in
``tests/slurm``.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.stored import read_sweep
from tests.support.postgres import postgres_server
from tests.support.sweeper_helpers import run_checked, sweep_env
from tests.support.wandb_server.fixture import WandbServer

pytestmark = [pytest.mark.matrix, pytest.mark.slow]

CURVES = Path(__file__).resolve().parents[1] / "support" / "apps" / "curves" / "app.py"
STORAGES = ("journal", "sqlite", "postgresql")
METHODS = ("grid", "random", "bayes-gp", "bayes-tpe")
LAUNCHERS = ("basic", "joblib", "submitit_local")
STOPPING = ("off", "hyperband")
AGENTS = (1, 2)


class Cell(NamedTuple):
    storage: str
    method: str
    launcher: str
    early_terminate: str
    agents: int

    @property
    def id(self) -> str:
        return "-".join(map(str, self))


LOCAL_CELLS = [
    Cell("journal", "grid", "basic", "off", 1),
    Cell("sqlite", "grid", "joblib", "hyperband", 2),
    Cell("postgresql", "grid", "submitit_local", "hyperband", 2),
    Cell("journal", "random", "joblib", "off", 2),
    Cell("sqlite", "random", "submitit_local", "hyperband", 1),
    Cell("postgresql", "random", "basic", "off", 1),
    Cell("journal", "bayes-gp", "submitit_local", "hyperband", 2),
    Cell("sqlite", "bayes-gp", "basic", "off", 1),
    Cell("postgresql", "bayes-gp", "joblib", "off", 1),
    Cell("journal", "bayes-tpe", "basic", "hyperband", 2),
    Cell("sqlite", "bayes-tpe", "joblib", "off", 1),
    Cell("postgresql", "bayes-tpe", "submitit_local", "off", 1),
]
CLOUD_CELLS = [
    Cell("wandb", "grid", "basic", "off", 2),
    Cell("wandb", "random", "joblib", "hyperband", 1),
    Cell("wandb", "grid", "submitit_local", "hyperband", 1),
]
GRID_POINTS = (0.2, 0.9, 0.5, 0.1)
FIRST, SECOND = 2, 2  # trials of the first process, then of the one that joins


def test_the_cells_cover_every_pair():
    factors = (STORAGES, METHODS, LAUNCHERS, STOPPING, AGENTS)
    for i, j in itertools.combinations(range(len(factors)), 2):
        swept = {(cell[i], cell[j]) for cell in LOCAL_CELLS}
        assert swept == set(itertools.product(factors[i], factors[j])), (i, j)
    for i, values in enumerate((METHODS[:2], LAUNCHERS, STOPPING, AGENTS), start=1):
        assert {cell[i] for cell in CLOUD_CELLS} == set(values)


def _overrides(cell: Cell, sweep_dir: Path) -> list[str]:
    method, _, sampler = cell.method.partition("-")
    space = (
        f"quality={','.join(map(str, GRID_POINTS))}"
        if method == "grid"
        else "quality=interval(0.1,0.9)"
    )
    overrides = [
        f"hydra.sweep.dir={sweep_dir}",
        f"hydra.sweeper.method={method}",
        "hydra.sweeper.metric={name:score,goal:maximize}",
        space,
        "epochs=4",
        f"hydra.sweeper.agents={cell.agents}",
        f"hydra/launcher={cell.launcher}",
    ]
    if sampler:  # the model proposes from the third trial on: the joiner's trials
        overrides += [
            f"hydra.sweeper.bayes_sampler={sampler}",
            "hydra.sweeper.bayes_startup_trials=2",
        ]
    if cell.launcher != "basic":  # batches of two trials
        overrides += ["hydra.sweeper.n_jobs=2"]
    if cell.launcher == "joblib":
        overrides += ["hydra.launcher.n_jobs=2"]
    if cell.early_terminate == "hyperband":
        overrides += ["hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}"]
    return overrides


def _sweep(tmp_path: Path, env: dict[str, str], *overrides: str) -> str:
    command = [sys.executable, str(CURVES), "-m", "hydra/sweeper=wandb", *overrides]
    done = run_checked(command, cwd=tmp_path, env=env, check=True, timeout=600)
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def postgresql() -> Iterator[str]:
    with postgres_server() as url:
        yield url


# two cells run on the oldest supported versions too (.ci/run)
OLDEST_CELLS = {LOCAL_CELLS[1], LOCAL_CELLS[6]}


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(cell, marks=[pytest.mark.oldest] * (cell in OLDEST_CELLS))
        for cell in LOCAL_CELLS
    ],
    ids=lambda cell: cell.id,
)
def test_a_local_sweep_runs_and_is_joined(cell: Cell, tmp_path: Path, request) -> None:
    storage = {
        "journal": str(tmp_path / "journal.log"),
        "sqlite": f"sqlite:///{tmp_path / 'sweeps.db'}",
    }.get(cell.storage) or request.getfixturevalue("postgresql")
    env = sweep_env(tmp_path)
    base = [*_overrides(cell, tmp_path / "first"), f"hydra.sweeper.storage={storage}"]
    first = _sweep(tmp_path, env, *base, f"hydra.sweeper.count={FIRST}")
    sweep_id = re.search(r"W&B sweep (\w+) \| engine: local", first).group(1)
    _, _, after_first = read_sweep(storage, sweep_id)
    assert len(after_first) == FIRST, first
    joined = [*_overrides(cell, tmp_path / "second"), f"hydra.sweeper.storage={storage}"]
    _sweep(
        tmp_path,
        env,
        *joined,
        f"hydra.sweeper.sweep_id={sweep_id}",
        f"hydra.sweeper.count={SECOND}",
    )
    _, _, records = read_sweep(storage, sweep_id)
    assert len(records) == FIRST + SECOND
    assert {record.state for record in records} <= {TrialState.FINISHED, TrialState.STOPPED}
    qualities = [record.params["quality"] for record in records]
    assert all(0.1 <= quality <= 0.9 for quality in qualities)
    if cell.method == "grid":
        assert sorted(qualities) == sorted(GRID_POINTS)


@pytest.mark.parametrize("cell", CLOUD_CELLS, ids=lambda cell: cell.id)
def test_a_cloud_sweep_runs_and_is_joined(
    cell: Cell, wandb_server: WandbServer, client_env: dict[str, str], tmp_path: Path
) -> None:
    cloud = ["hydra.sweeper.engine=wandb", "hydra.sweeper.project=tests", "use_wandb=true"]
    first = _sweep(
        tmp_path,
        client_env,
        *cloud,
        *_overrides(cell, tmp_path / "first"),
        f"hydra.sweeper.count={FIRST}",
    )
    sweep_id = re.search(r"Create sweep with ID: (\w+)", first).group(1)
    assert len(wandb_server.state()["sweeps"][sweep_id]["runs"]) == FIRST
    _sweep(
        tmp_path,
        client_env,
        *cloud,
        *_overrides(cell, tmp_path / "second"),
        f"hydra.sweeper.sweep_id=tester/tests/{sweep_id}",
        f"hydra.sweeper.count={SECOND}",
    )
    state = wandb_server.state()
    runs = [state["runs"][name] for name in state["sweeps"][sweep_id]["runs"]]
    assert len(runs) == FIRST + SECOND
    assert {run["state"] for run in runs} == {"finished"}
    qualities = [run["config"]["quality"]["value"] for run in runs]
    if cell.method == "grid":
        assert sorted(qualities) == sorted(GRID_POINTS)
