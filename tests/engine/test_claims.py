"""Claims: 8 processes joining one 16-point grid at once take every point exactly once, on
every storage (journal file, SQLite, PostgreSQL), and none of them crashes."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from tests.conftest import REPO_ROOT
from tests.support.engines import definition
from tests.support.postgres import postgres_url  # noqa: F401 - a fixture

JOINERS = 8
POINTS = 16


def run_joiners(storage: str, tmp_path: Path) -> list[tuple[int, int, int]]:
    engine = LocalEngine.create(storage, definition("grid", {"x": {"values": list(range(POINTS))}}))
    engine.close()
    go = tmp_path / "go"
    outs = [tmp_path / f"joiner-{index}.txt" for index in range(JOINERS)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.joiner", storage, engine.sweep_id, str(out), go],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outs
    ]
    go.touch()  # each joiner has opened the sweep, or does so now: all claim at once
    for process in processes:
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
    ran = [tuple(map(int, line.split())) for out in outs for line in out.read_text().splitlines()]
    final = LocalEngine.join(storage, engine.sweep_id)
    records = final.records()
    final.close()
    assert [record.params["x"] for record in records] == list(range(POINTS))
    assert all(record.state is TrialState.FINISHED for record in records)
    return ran  # type: ignore[return-value]


def assert_each_point_once(ran: list[tuple[int, int, int]]) -> None:
    points = collections.Counter(point for _, _, point in ran)
    duplicates = {point: count for point, count in points.items() if count > 1}
    assert duplicates == {}, f"points run more than once: {duplicates}"
    assert sorted(points) == list(range(POINTS))
    assert len({pid for pid, _, _ in ran}) > 1, "the joiners shared the grid"


pytestmark = pytest.mark.slow


def test_joiners_on_a_journal_file(tmp_path):
    assert_each_point_once(run_joiners(str(tmp_path / "journal.log"), tmp_path))


def test_joiners_on_sqlite(tmp_path):
    assert_each_point_once(run_joiners(f"sqlite:///{tmp_path / 'sweeps.db'}", tmp_path))


def test_joiners_on_postgresql(tmp_path, postgres_url):  # noqa: F811 - the fixture
    started = time.monotonic()
    assert_each_point_once(run_joiners(postgres_url, tmp_path))
    assert time.monotonic() - started < 120


HEARTBEAT_RACE = """
import sys
from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from tests.support.engines import definition
engine = LocalEngine.create(sys.argv[1], definition("grid", {"x": {"values": list(range(200))}}))
while batch := [trial for trial in (engine.ask(), engine.ask()) if trial is not None]:
    for trial in batch:  # a batch of two: one trial is live, beating, while the next is claimed
        engine.tell(trial, TrialState.FINISHED, 1.0, None)
print(len(engine.records()))
"""


@pytest.mark.parametrize("storage", ["journal.log", "sqlite:///sweeps.db"])
def test_heartbeats_racing_claims_never_deadlock(tmp_path, storage):
    spec = storage if "://" not in storage else f"sqlite:///{tmp_path / 'sweeps.db'}"
    spec = str(tmp_path / spec) if "://" not in spec else spec
    # a heartbeat every millisecond, written while this process claims and finishes trials
    env = {**os.environ, "HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS": "0.001"}
    completed = subprocess.run(
        [sys.executable, "-c", HEARTBEAT_RACE, spec],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "200"
