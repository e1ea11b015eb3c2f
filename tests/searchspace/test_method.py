"""validate_method: method, metric and early_terminate against W&B's sweep schema."""

from __future__ import annotations

from typing import Any

import pytest
from omegaconf import OmegaConf

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.method import validate_method
from hydra_wandb_sweeper.searchspace.space import SearchSpace
from tests.support.space_cases import WHERE, space

# --- validate_method ---------------------------------------------------------------------------

DISCRETE = space({"model": "a,b", "seed": "range(0,3)"})
CONTINUOUS = space({"model": "a,b", "optimizer.lr": "interval(0.1,1)"})
METRIC = {"name": "val/acc", "goal": "maximize"}
HYPERBAND = {"type": "hyperband", "min_iter": 3}


@pytest.mark.parametrize(
    ("method", "metric", "early_terminate", "searched"),
    [
        ("random", None, None, CONTINUOUS),
        ("grid", None, None, DISCRETE),
        ("bayes", METRIC, None, CONTINUOUS),
        ("bayes", {"name": "loss"}, HYPERBAND, CONTINUOUS),
        (
            "random",
            {**METRIC, "target": 0.99, "impute": "worst", "impute_while_running": False},
            None,
            CONTINUOUS,
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband", "max_iter": 27, "s": 2, "eta": 3.0, "strict": False},
            CONTINUOUS,
        ),
        (
            "grid",
            {"name": "loss", "goal": "minimize", "target": 1},
            {**HYPERBAND, "eta": 2},
            DISCRETE,
        ),
        # W&B's schema takes any number > 1 for eta
        ("random", METRIC, {**HYPERBAND, "eta": 1.5}, CONTINUOUS),
        ("random", METRIC, {**HYPERBAND, "s": 2}, CONTINUOUS),  # s without max_iter: unused
    ],
)
def test_valid_methods_pass(
    method: str, metric: Any, early_terminate: Any, searched: SearchSpace
) -> None:
    validate_method(searched, method, metric, early_terminate)


@pytest.mark.parametrize(
    ("method", "metric", "early_terminate", "key", "fragments"),
    [
        ("bays", None, None, "hydra.sweeper.method", ["'bays'", "Did you mean 'bayes'"]),
        ("Grid", None, None, "hydra.sweeper.method", ["'Grid'", "grid, random or bayes"]),
        (None, None, None, "hydra.sweeper.method", ["None"]),
        (
            "grid",
            None,
            None,
            f"{WHERE}.optimizer.lr",
            ["method grid needs discrete parameters", "uniform"],
        ),
        ("bayes", None, None, "hydra.sweeper.metric.name", ["method bayes needs a metric"]),
        (
            "random",
            None,
            HYPERBAND,
            "hydra.sweeper.metric.name",
            ["early_terminate needs a metric"],
        ),
        ("random", "val/acc", None, "hydra.sweeper.metric", ["'val/acc'"]),
        ("random", {"goal": "maximize"}, None, "hydra.sweeper.metric.name", ["None"]),
        ("random", {"name": ""}, None, "hydra.sweeper.metric.name", ["''"]),
        (
            "random",
            {"name": "x", "goal": "max"},
            None,
            "hydra.sweeper.metric.goal",
            ["'max'", "Did you mean 'maximize'"],
        ),
        (
            "random",
            {"name": "x", "goal": "maximise"},
            None,
            "hydra.sweeper.metric.goal",
            ["Did you mean 'maximize'"],
        ),
        (
            "random",
            {"name": "x", "target": "high"},
            None,
            "hydra.sweeper.metric.target",
            ["'high'", "number"],
        ),
        ("random", {"name": "x", "target": True}, None, "hydra.sweeper.metric.target", ["True"]),
        (
            "random",
            {"name": "x", "impute": "zero"},
            None,
            "hydra.sweeper.metric.impute",
            ["'zero'"],
        ),
        (
            "random",
            {"name": "x", "impute_while_running": "yes"},
            None,
            "hydra.sweeper.metric.impute_while_running",
            ["'yes'"],
        ),
        (
            "random",
            {"name": "x", "gaol": "min"},
            None,
            "hydra.sweeper.metric.gaol",
            ["'min'", "Did you mean 'goal'"],
        ),
        ("random", METRIC, "hyperband", "hydra.sweeper.early_terminate", ["'hyperband'"]),
        (
            "random",
            METRIC,
            {"min_iter": 3},
            "hydra.sweeper.early_terminate.type",
            ["None", "hyperband"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperbnd", "min_iter": 3},
            "hydra.sweeper.early_terminate.type",
            ["'hyperbnd'", "Did you mean 'hyperband'"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband"},
            "hydra.sweeper.early_terminate",
            ["min_iter, or max_iter and s"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband", "max_iter": 27},
            "hydra.sweeper.early_terminate",
            ["max_iter and s", "27"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband", "min_iter": 0},
            "hydra.sweeper.early_terminate.min_iter",
            ["0", ">= 1"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband", "min_iter": 2.5},
            "hydra.sweeper.early_terminate.min_iter",
            ["2.5"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband", "max_iter": 9, "s": "2"},
            "hydra.sweeper.early_terminate.s",
            ["'2'"],
        ),
        (
            "random",
            METRIC,
            {**HYPERBAND, "eta": 1},
            "hydra.sweeper.early_terminate.eta",
            ["1", "number > 1"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband", "max_iter": 2, "s": 1, "eta": 3},
            "hydra.sweeper.early_terminate",
            ["no band", "raise max_iter"],
        ),
        (
            "random",
            METRIC,
            {"type": "hyperband", "min_iter": 1, "max_iter": 9},
            "hydra.sweeper.early_terminate",
            ["max_iter and s"],
        ),
        (
            "random",
            METRIC,
            {**HYPERBAND, "eta": True},
            "hydra.sweeper.early_terminate.eta",
            ["True"],
        ),
        (
            "random",
            METRIC,
            {**HYPERBAND, "strict": "yes"},
            "hydra.sweeper.early_terminate.strict",
            ["'yes'"],
        ),
        (
            "random",
            METRIC,
            {**HYPERBAND, "min_itr": 3},
            "hydra.sweeper.early_terminate.min_itr",
            ["Did you mean 'min_iter'"],
        ),
    ],
)
def test_bad_method_settings_are_explained(
    method: Any, metric: Any, early_terminate: Any, key: str, fragments: list[str]
) -> None:
    with pytest.raises(SweepConfigError) as error:
        validate_method(CONTINUOUS, method, metric, early_terminate)
    assert error.value.key == key
    for fragment in fragments:
        assert fragment in str(error.value)


def test_validate_method_accepts_omegaconf_nodes() -> None:
    metric = OmegaConf.create(METRIC)
    early_terminate = OmegaConf.create({"type": "hyperband", "min_iter": 1, "eta": 3})
    validate_method(CONTINUOUS, "bayes", metric, early_terminate)
