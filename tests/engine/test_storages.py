"""Every method on every storage: a sweep made, run, and joined by a second process, on the
journal file, SQLite and PostgreSQL (through the README's ``postgresql://`` URL).

Random and bayes suggest their values on a trial the engine created itself; on an RDB
storage that trial must be in Optuna's own trial cache, or the first suggestion fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.engine.local.storage import with_driver
from tests.conftest import REPO_ROOT
from tests.support.engines import definition
from tests.support.postgres import shared_postgres_url  # noqa: F401 - a fixture

pytestmark = pytest.mark.oldest  # also run on the oldest supported versions (.ci/run)

METHODS = [("grid", "gp"), ("random", "gp"), ("bayes", "gp"), ("bayes", "tpe")]
SPACE = {"x": {"distribution": "uniform", "min": 0.0, "max": 1.0}, "k": {"values": [1, 2]}}
GRID_SPACE = {"x": {"values": [0.1, 0.5, 0.9]}, "k": {"values": [1, 2]}}

# A second process joins the sweep and runs two trials of its own.
JOIN = """
import sys
from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
engine = LocalEngine.join(sys.argv[1], sys.argv[2], bayes=(sys.argv[3], 2))
for _ in range(2):
    trial = engine.ask()
    engine.tell(trial, TrialState.FINISHED, float(trial.params["x"]), None)
engine.close()
"""


def _storage(kind: str, tmp_path, request) -> str:
    if kind == "journal":
        return str(tmp_path / "journal.log")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sweeps.db'}"
    return request.getfixturevalue("shared_postgres_url")


@pytest.mark.parametrize("kind", ["journal", "sqlite", "postgresql"])
@pytest.mark.parametrize(("method", "model"), METHODS, ids=["grid", "random", "gp", "tpe"])
def test_a_sweep_runs_and_is_joined(kind, method, model, tmp_path, request):
    storage = _storage(kind, tmp_path, request)
    sweep = definition(method, GRID_SPACE if method == "grid" else SPACE)
    sweep = type(sweep)(**{**sweep.__dict__, "metric_name": "loss"})
    engine = LocalEngine.create(storage, sweep, seed=0, bayes=(model, 2))
    for _ in range(3):  # past the Sobol start-up of 2: the model proposes the third
        trial = engine.ask()
        assert trial is not None
        engine.tell(trial, TrialState.FINISHED, float(trial.params["x"]), None)
    joined = subprocess.run(
        [sys.executable, "-c", JOIN, storage, engine.sweep_id, model],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert joined.returncode == 0, joined.stderr
    records = engine.records()
    engine.close()
    assert [record.state for record in records] == [TrialState.FINISHED] * 5
    assert all(0.0 <= record.params["x"] <= 1.0 for record in records)
    if method == "grid":  # five of the six points, each once
        points = {(record.params["x"], record.params["k"]) for record in records}
        assert len(points) == 5


def test_the_readme_postgresql_url_uses_the_postgres_extra_driver():
    url = "postgresql://user@host/db"
    assert with_driver(url) == "postgresql+psycopg://user@host/db"
    assert with_driver("postgresql+psycopg2://user@host/db") == "postgresql+psycopg2://user@host/db"
    assert with_driver("sqlite:///x.db") == "sqlite:///x.db"
