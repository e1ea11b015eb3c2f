"""Reading a trial's objective from what the task returned."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.outcome import objective_outcome, storable_result


@pytest.mark.parametrize(
    "returned", [0.5, {"val/acc": 0.5, "val/loss": 1.0}, np.float32(0.5), torch.tensor(0.5)]
)
def test_a_float_or_a_dict_holding_the_metric(returned):
    assert objective_outcome(returned, "val/acc") == (TrialState.FINISHED, 0.5, None)


@pytest.mark.parametrize(
    ("returned", "fragment"),
    [
        ({"val/loss": 1.0}, "without metric 'val/acc' (keys: val/loss)"),
        (math.nan, "nan"),
        ({"val/acc": math.inf}, "inf"),
        (None, "None"),
        ("0.9", "'0.9'"),
        (torch.tensor([0.9, 0.8]), "tensor"),
    ],
)
def test_what_is_not_a_finite_metric_fails_the_trial_with_a_reason(returned, fragment):
    state, value, error = objective_outcome(returned, "val/acc")
    assert (state, value) == (TrialState.FAILED, None)
    assert fragment in error


def test_without_a_metric_any_return_value_finishes():
    assert objective_outcome({"a": 1}, None) == (TrialState.FINISHED, None, None)
    assert objective_outcome(2, None) == (TrialState.FINISHED, 2.0, None)


def test_storable_result_keeps_only_finite_numbers():
    returned = {"acc": np.float64(0.9), "loss": math.nan, "name": "x", "n": torch.tensor(3)}
    assert storable_result(returned) == {"acc": 0.9, "n": 3}
    assert storable_result(math.inf) is None
