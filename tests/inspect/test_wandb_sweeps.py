"""A W&B sweep read through the public API, as a table: the mapping from W&B's config and
runs. (Reading from a live server needs the loopback W&B server of the cloud engine's
tests; these tests give the mapping the runs' plain data that `run_fields` returns.)"""

from __future__ import annotations

import pytest

from hydra_wandb_sweeper.engine.cloud.reading import WandbSweeps, table_from_wandb
from hydra_wandb_sweeper.engine.kinds import is_wandb_path
from hydra_wandb_sweeper.engine.table import InspectError

CONFIG = {
    "name": "har",
    "method": "bayes",
    "program": "train.py",
    "metric": {"name": "val/acc", "goal": "maximize"},
    "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
    "parameters": {
        "model": {"values": ["cnn_tcn", "cnn_bilstm"]},
        "optimizer": {"parameters": {"lr": {"min": 1e-4, "max": 1e-1}}},
    },
}


def run(run_id, state, acc, lr, model="cnn_tcn", **summary):
    return {
        "id": run_id,
        "state": state,
        "config": {"model": model, "optimizer": {"lr": lr}},
        "summary": {"val/acc": acc, **summary} if acc is not None else summary,
        "created_at": "2026-01-01T10:00:00Z",
        "heartbeat_at": "2026-01-01T10:02:30Z",
        "curve": {1: 0.5, 2: acc} if acc is not None else {},
    }


def test_runs_become_trials_with_states_values_and_nested_parameters():
    table = table_from_wandb(
        "me/har/abc123",
        CONFIG,
        [
            run("r1", "finished", 0.8, 0.01),
            run(
                "r2",
                "finished",
                0.6,
                0.05,
                "cnn_bilstm",
                **{"sweep/stopped_early": True, "sweep/stopped_at_step": 2},
            ),
            run("r3", "crashed", None, 0.09),
            run("r4", "running", None, 0.001),
        ],
    )
    assert table.sweep_id == "abc123" and table.method == "bayes" and table.program == "train.py"
    assert [c.wandb_name for c in table.columns] == ["model", "optimizer.lr"]
    assert [t.state for t in table.trials] == ["finished", "stopped", "failed", "running"]
    assert table.trials[1].stopped_at == 2 and table.trials[1].params["model"] == "cnn_bilstm"
    assert table.trials[0].params == {"model": "cnn_tcn", "optimizer.lr": 0.01}
    assert table.trials[0].duration_s == 150.0
    assert table.best().run_id == "r1"
    assert table.rerun_overrides(table.best()) == ["model=cnn_tcn", "optimizer.lr=0.01"]


def test_paths_choose_the_source_and_bad_ones_are_clear():
    assert is_wandb_path("me/har/abc123") and not is_wandb_path("abc123")
    with pytest.raises(InspectError, match="expected a W&B path ENTITY/PROJECT/SWEEP_ID"):
        WandbSweeps.__new__(WandbSweeps).read("me//abc")
