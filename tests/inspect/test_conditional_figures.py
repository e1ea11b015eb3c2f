"""The report's figures of a conditional sweep: a parameter that applied in one trial only
keeps its axis (drawn over the range it was drawn from), the others show it missing."""

from __future__ import annotations

from hydra_wandb_sweeper.engine.table import Column, SweepTable, TrialRow
from hydra_wandb_sweeper.inspect import figures

COLUMNS = (
    Column("model", "model", {"values": ["cnn_tcn", "cnn_bilstm"]}),
    Column("optimizer.lr", "optimizer.lr", {"distribution": "uniform", "min": 0.0, "max": 1.0}),
    # cnn_tcn only, and the sweep tried cnn_tcn once
    Column("model.levels", "model.levels", {"distribution": "int_uniform", "min": 2, "max": 4}),
    # W&B's log_uniform bounds are exponents, not values: no range to borrow from them
    Column("model.gain", "model.gain", {"distribution": "log_uniform", "min": -2, "max": 0}),
    # the same value in every trial: nothing to draw
    Column("model.depth", "model.depth", {"distribution": "int_uniform", "min": 3, "max": 3}),
)


def _trial(number: int, model: str, lr: float) -> TrialRow:
    params = {"model": model, "optimizer.lr": lr, "model.depth": 3}
    if model == "cnn_tcn":
        params |= {"model.levels": 3, "model.gain": 0.5}
    return TrialRow(number, f"run{number}", "finished", lr, params)


TABLE = SweepTable(
    sweep_id="s",
    source="memory",
    method="bayes",
    metric="val/acc",
    goal="maximize",
    columns=COLUMNS,
    trials=(
        _trial(0, "cnn_tcn", 0.2),
        _trial(1, "cnn_bilstm", 0.4),
        _trial(2, "cnn_bilstm", 0.6),
    ),
)


def test_a_parameter_seen_once_keeps_its_axis_and_is_missing_elsewhere():
    study = figures.memory_study(TABLE)
    tcn, bilstm, _ = study.trials
    assert tcn.params["model.levels"] == 3
    assert tcn.distributions["model.levels"].low == 2
    assert tcn.distributions["model.levels"].high == 4
    assert "model.levels" not in bilstm.params
    assert "model.gain" not in tcn.params  # one value, and no range in value space
    assert "model.depth" not in tcn.params  # constant

    figure = figures.parallel_coordinates(study, TABLE)
    assert figure.layout.xaxis.ticktext == ("val/acc", "model", "model.levels", "optimizer.lr")
