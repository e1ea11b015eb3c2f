"""Grid points are made from their index: a grid of any size starts at once."""

from __future__ import annotations

import time

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.engine.local.grid import MAX_PROCESS_DEATHS, Grid
from hydra_wandb_sweeper.searchspace.space import Parameter
from tests.support.engines import definition

BILLION = {f"p{index}": {"values": list(range(10))} for index in range(9)}


def test_a_billion_point_grid_starts_its_first_trial_at_once(tmp_path):
    started = time.perf_counter()
    engine = LocalEngine.create(str(tmp_path / "journal.log"), definition("grid", BILLION))
    first = engine.ask()
    second = engine.ask()
    elapsed = time.perf_counter() - started
    assert first is not None and second is not None
    assert first.params == {f"p{index}": 0 for index in range(9)}
    assert second.params == {**first.params, "p8": 1}  # the last parameter varies fastest
    assert elapsed < 5, f"{elapsed:.2f}s to the first trial"
    print(f"1e9-point grid: first two trials claimed {elapsed:.3f}s after creating the sweep")
    assert (tmp_path / "journal.log").stat().st_size < 20_000  # nothing enumerated
    engine.close()


def test_points_map_to_values_in_wandb_order():
    params = [
        Parameter(key="a", wandb_name="a", spec={"distribution": "categorical", "values": [1, 2]}),
        Parameter(key="b", wandb_name="b", spec={"distribution": "categorical", "values": "xyz"}),
    ]
    grid = Grid(params)
    assert grid.size == 6
    assert [tuple(grid.values(i).values()) for i in range(6)] == [
        (1, "x"),
        (1, "y"),
        (1, "z"),
        (2, "x"),
        (2, "y"),
        (2, "z"),
    ]


def test_a_point_whose_process_dies_is_given_up_after_a_few_deaths(tmp_path):
    storage = str(tmp_path / "journal.log")
    engine = LocalEngine.create(storage, definition("grid", {"x": {"values": [0, 1]}}))
    runs = []
    while (trial := engine.ask()) is not None:
        runs.append(trial.params["x"])
        if trial.params["x"] == 1:  # its worker dies, alone in its batch
            engine._storage.set_trial_user_attr(
                engine._trial_id(trial.number), "job", {"host": "h", "pid": 1}
            )
            engine.release_unfinished("its worker process died (exit code 3)", worker_died=True)
        else:
            engine.tell(trial, TrialState.FINISHED, None, None)
    assert runs == [0] + [1] * MAX_PROCESS_DEATHS
    records = {record.params["x"]: record for record in engine.records()}
    assert records[0].state is TrialState.FINISHED
    assert records[1].state is TrialState.FAILED and not records[1].will_rerun
    assert "exit code 3" in (records[1].error or "")
    engine.close()


def test_points_of_a_batch_that_lost_a_worker_run_again_one_at_a_time(tmp_path):
    storage = str(tmp_path / "journal.log")
    engine = LocalEngine.create(storage, definition("grid", {"x": {"values": [0, 1, 2]}}))
    batch = [engine.ask(), engine.ask()]
    assert [trial.params["x"] for trial in batch if trial] == [0, 1]
    # a worker died: which of the two trials killed it is not known
    released = engine.release_unfinished("its worker process died (exit code -9)", worker_died=True)
    assert all(record.will_rerun for record in released)
    batches = []
    while batch := [trial for trial in (engine.ask(), engine.ask()) if trial is not None]:
        batches.append([trial.params["x"] for trial in batch])
        for trial in batch:
            engine.tell(trial, TrialState.FINISHED, None, None)
    assert batches == [[2], [0], [1]]  # fresh points first, then each suspect alone
    assert [record.state for record in engine.records()] == [TrialState.FINISHED] * 3
    engine.close()
