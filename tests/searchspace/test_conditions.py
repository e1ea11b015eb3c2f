"""Conditional parameters (``when:``): parsed, checked before any trial, resolved per trial."""

from __future__ import annotations

import pytest

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.space import build_search_space
from tests.support.conditional_spaces import MODELS


def test_when_takes_one_value_or_a_list_and_stays_out_of_the_wandb_spec():
    space = build_search_space(MODELS, [])
    by_key = space.by_key()
    assert by_key["hidden"].when == {"model": ["lstm"]}
    assert by_key["kernel"].when == {"model": ["tcn", "lstm"]}
    assert by_key["dropout"].when == {}
    assert "when" not in space.wandb_parameters()["hidden"]  # W&B gets the flattened space
    assert space.conditional


def test_a_trial_gets_overrides_for_the_parameters_that_apply_only():
    space = build_search_space(MODELS, [])
    values = {"model": "mlp", "dropout": 0.1, "act": "gelu"}
    assert space.active({**values, "hidden": 32, "slope": 0.1}) == ["model", "dropout", "act"]
    assert space.job_overrides(values) == ["model=mlp", "dropout=0.1", "act=gelu"]
    with pytest.raises(ValueError, match="hidden"):  # an inactive value is refused
        space.to_overrides({**values, "hidden": 32})
    with pytest.raises(ValueError, match="kernel"):  # an active one is required
        space.to_overrides({"model": "tcn", "dropout": 0.1, "levels": 3})


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"x": {"values": [1, 2], "when": {"nosuch": "a"}}},
            ["hydra.sweeper.parameters.x.when", "'nosuch'", "not swept", "has none"],
        ),
        (
            {
                "m": {"values": ["a", "b"]},
                "lr": {"min": 0.1, "max": 0.5},
                "x": {"values": [1, 2], "when": {"mm": "a"}},
            },
            ["hydra.sweeper.parameters.x.when", "'mm'", "not swept", "config group: m"],
        ),
        (
            {"m": {"values": ["a", "b"]}, "x": {"values": [1, 2], "when": {"m": "c"}}},
            ["hydra.sweeper.parameters.x.when", "'c'", "a, b"],
        ),
        (
            {"lr": {"min": 0.1, "max": 0.5}, "x": {"values": [1, 2], "when": {"lr": 0.2}}},
            ["hydra.sweeper.parameters.x.when", "'lr'", "uniform", "values: [...]"],
        ),
        (
            {"x": {"values": [1, 2], "when": "m"}},
            ["hydra.sweeper.parameters.x.when", "'m'", "expected a mapping"],
        ),
        (
            {
                "a": {"values": [1, 2], "when": {"b": 1}},
                "b": {"values": [1, 2], "when": {"a": 1}},
            },
            ["when", "cycle", "a -> b -> a"],
        ),
    ],
    ids=[
        "unknown parent",
        "misspelt parent",
        "unknown value",
        "continuous parent",
        "not a mapping",
        "cycle",
    ],
)
def test_bad_conditions_are_refused_in_one_line_naming_the_key(parameters, expected):
    with pytest.raises(SweepConfigError) as caught:
        build_search_space(parameters, [])
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    for part in expected:
        assert part in message


def test_a_command_line_value_for_the_parent_decides_the_condition_once():
    space = build_search_space(MODELS, ["model=mlp"])
    assert [p.key for p in space.parameters] == ["dropout", "act", "slope"]
    assert space.by_key()["act"].when == {}  # always applies now
    assert space.by_key()["slope"].when == {"act": ["relu"]}
    assert space.job_overrides({"dropout": 0.1, "act": "gelu"}) == [
        "dropout=0.1",
        "act=gelu",
        "model=mlp",
    ]


def test_a_command_line_sweep_of_a_conditional_key_keeps_its_condition():
    space = build_search_space(MODELS, ["hidden=16,256", "+experiment=a,b"])
    hidden = space.by_key()["hidden"]
    assert hidden.spec["values"] == [16, 256]
    assert hidden.when == {"model": ["lstm"]}


def test_a_condition_may_name_a_group_written_with_plus():
    space = build_search_space(
        {
            "+experiment": {"values": ["a", "b"]},
            "x": {"values": [1, 2], "when": {"experiment": "a"}},
        },
        [],
    )
    assert space.active({"+experiment": "b", "x": 1}) == ["+experiment"]
    assert space.active({"+experiment": "a", "x": 1}) == ["+experiment", "x"]
