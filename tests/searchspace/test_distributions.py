"""W&B parameter dicts → canonical specs; grid values of discrete specs."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from omegaconf import OmegaConf

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import (
    DEPRECATED_DISTRIBUTIONS,
    DISCRETE_DISTRIBUTIONS,
    DISTRIBUTION_FIELDS,
)
from hydra_wandb_sweeper.searchspace.space import grid_values
from tests.support.space_cases import CANONICAL, WHERE, config_error, parameter, space, spec


@pytest.mark.parametrize(("raw", "expected"), CANONICAL)
def test_wandb_dict_becomes_canonical(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    result = spec(raw)
    assert result == expected
    assert [type(v) for v in result.values()] == [type(v) for v in expected.values()]


def test_every_distribution_has_a_canonical_case() -> None:
    assert {expected["distribution"] for _, expected in CANONICAL} == set(DISTRIBUTION_FIELDS)
    assert set(DISTRIBUTION_FIELDS) > DEPRECATED_DISTRIBUTIONS


def test_canonical_spec_is_idempotent() -> None:
    for _, expected in CANONICAL:
        assert spec(expected) == expected


def test_numpy_numbers_become_python_numbers() -> None:
    np = pytest.importorskip("numpy")
    result = spec({"min": np.int64(1), "max": np.int64(8)})
    assert result == {"distribution": "int_uniform", "min": 1, "max": 8}
    assert type(result["min"]) is int
    assert spec({"values": [np.float64(0.5)]})["values"] == [0.5]


@pytest.mark.parametrize("raw", [0.01, 3, True, None])
def test_plain_yaml_scalar_is_a_constant(raw: Any) -> None:
    assert spec(raw) == {"distribution": "constant", "value": raw}


def test_omegaconf_nodes_are_accepted() -> None:
    raw = OmegaConf.create({"values": [1, 2], "probabilities": [0.5, 0.5]})
    assert spec(raw)["distribution"] == "categorical_w_probabilities"


# --- W&B dicts: every error names the key and the bad value --------------------------------------

ERRORS = [
    (
        {"distribution": "log_uniform_value", "min": 1, "max": 2},
        ["'log_uniform_value'", "Did you mean 'log_uniform_values'"],
    ),
    ({"distribution": "gaussian"}, ["'gaussian'", "expected one of"]),
    ({"distribution": 3}, ["3", "unknown distribution"]),
    ({"distribution": "uniform", "min": 0}, ["'max'", "uniform"]),
    ({"distribution": "categorical"}, ["'values'"]),
    ({"distribution": "categorical_w_probabilities", "values": [1]}, ["'probabilities'"]),
    ({"distribution": "constant"}, ["'value'"]),
    ({"distribution": "uniform", "min": 0, "max": 1, "q": 0.1}, ["'q'", "0.1", "q_uniform"]),
    ({"distribution": "normal", "sigm": 2}, ["'sigm'", "Did you mean 'sigma'"]),
    ({"values": [1, 2], "value": 1}, ["'value'", "categorical (implied"]),
    ({"min": 0, "max": 10, "q": 2}, ["'q'", "int_uniform (implied", "q_uniform"]),
    ({"lr": {"min": 0.1, "max": 1.0}}, ["'lr'", "'parameters:'"]),
    ({"parameters": {"a": {"value": 1}}, "values": [1]}, ["'parameters:'", "'values'"]),
    ({"min": 1, "max": 1}, ["min (1)", "max (1)", "constant"]),
    ({"min": 2, "max": 1.0}, ["min (2)", "max (1.0)"]),
    ({"distribution": "int_uniform", "min": 5, "max": 3}, ["min (5)", "max (3)"]),
    ({"distribution": "q_normal", "q": 0}, ["q must be > 0", "0"]),
    ({"distribution": "q_uniform", "min": 0, "max": 1, "q": -0.5}, ["q must be > 0", "-0.5"]),
    ({"distribution": "normal", "sigma": 0}, ["sigma must be > 0", "0"]),
    ({"distribution": "log_normal", "sigma": -1}, ["sigma must be > 0", "-1"]),
    ({"distribution": "beta", "a": 0}, ["a must be > 0"]),
    ({"distribution": "q_beta", "b": -2}, ["b must be > 0", "-2"]),
    ({"distribution": "log_uniform_values", "min": 0, "max": 1}, ["min > 0", "min 0"]),
    ({"distribution": "q_log_uniform_values", "min": -1, "max": 8}, ["min > 0", "-1"]),
    ({"distribution": "inv_log_uniform_values", "min": 0.0, "max": 1}, ["min > 0", "0.0"]),
    ({"values": []}, ["values is empty"]),
    ({"values": "abc"}, ["values must be a list", "'abc'"]),
    (
        {"values": [1, 2], "probabilities": [0.5, 0.6]},
        ["[0.5, 0.6]", "sum to 1.1", "must sum to 1"],
    ),
    ({"values": [1, 2], "probabilities": [1.0]}, ["[1.0]", "1 entries", "values has 2"]),
    ({"values": [1, 2], "probabilities": [1.5, -0.5]}, [">= 0", "-0.5"]),
    ({"values": [1, 2], "probabilities": ["a", "b"]}, ["probabilities[0]", "'a'"]),
    ({"values": [1, 2], "probabilities": 1}, ["probabilities must be a list", "1"]),
    ({"min": "abc", "max": 1}, ["min must be a finite number", "'abc'"]),
    (
        {"distribution": "uniform", "min": 0, "max": math.inf},
        ["max must be a finite number", "inf"],
    ),
    ({"distribution": "normal", "mu": math.nan}, ["mu must be a finite number", "nan"]),
    ({"min": True, "max": 2}, ["min must be a finite number", "True"]),
    ({"distribution": "int_uniform", "min": 1.5, "max": 3}, ["integer min", "1.5"]),
    ({}, ["cannot tell the distribution", "{}"]),
    ({"mu": 0, "sigma": 1}, ["cannot tell the distribution", "'mu'"]),
    ({"values": [{1.5: "x"}]}, ["1.5", "dict key"]),
    ({"value": {1, 2}}, ["{1, 2}", "cannot write"]),
    ([1, 2], ["[1, 2]", "{values: [1, 2]}"]),
    (object(), ["object", "W&B parameter dict"]),
]


@pytest.mark.parametrize(("raw", "fragments"), ERRORS)
def test_bad_wandb_dict_is_explained(raw: Any, fragments: list[str]) -> None:
    message = config_error(raw, key="optimizer.lr")
    assert message.startswith(f"{WHERE}.optimizer.lr: ")
    for fragment in fragments:
        assert fragment in message


def test_deprecated_distributions_are_accepted_without_error() -> None:
    for name in DEPRECATED_DISTRIBUTIONS:
        assert spec({"distribution": name, "min": -2, "max": 2})["distribution"] == name


# --- grid values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"value": "a"}, ["a"]),
        ({"values": [3, 1, [2]]}, [3, 1, [2]]),
        ({"min": -1, "max": 2}, [-1, 0, 1, 2]),
        ("range(1,4)", [1, 2, 3]),
        ("int(interval(1,3))", [1, 2, 3]),
        # W&B's grid: numpy.arange(min, max, q), max excluded, floats unless all are ints
        ({"distribution": "q_uniform", "min": 0, "max": 10, "q": 5}, [0, 5]),
        ({"distribution": "q_uniform", "min": 0, "max": 10, "q": 4}, [0, 4, 8]),
        ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25}, [0.0, 0.25, 0.5, 0.75]),
        (
            {"distribution": "q_uniform", "min": 0.05, "max": 0.35, "q": 0.1},
            [0.05, 0.15000000000000002, 0.25000000000000006],
        ),
        ({"distribution": "q_uniform", "min": 1, "max": 3}, [1.0, 2.0]),
        ({"distribution": "q_uniform", "min": -1.5, "max": 1, "q": 1}, [-1.5, -0.5, 0.5]),
        ({"distribution": "q_uniform", "min": 0.01, "max": 0.09, "q": 0.1}, [0.01]),
    ],
)
def test_grid_values_of_discrete_parameters(raw: Any, expected: list[Any]) -> None:
    result = grid_values(parameter(raw))
    assert result == expected
    assert [type(v) for v in result] == [type(v) for v in expected]


@pytest.mark.parametrize(
    "raw",
    [
        expected
        for _, expected in CANONICAL
        if expected["distribution"] not in DISCRETE_DISTRIBUTIONS
    ],
)
def test_grid_values_refuse_continuous_parameters(raw: dict[str, Any]) -> None:
    with pytest.raises(SweepConfigError, match="method grid needs discrete parameters") as error:
        grid_values(parameter(raw, key="optimizer.lr"))
    assert error.value.key == f"{WHERE}.optimizer.lr"
    assert raw["distribution"] in str(error.value)
    assert "values: [...], int_uniform or q_uniform" in str(error.value)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 1e-9}, "limit"),
        ({"min": 0, "max": 10**9}, "limit"),
    ],
)
def test_grid_values_refuse_huge_grids(raw: Any, fragment: str) -> None:
    with pytest.raises(SweepConfigError, match=fragment):
        grid_values(parameter(raw))


def test_grid_refuses_probabilities_as_wandb_does() -> None:
    with pytest.raises(SweepConfigError, match="takes no probabilities") as error:
        grid_values(parameter({"values": ["a", "b"], "probabilities": [0.9, 0.1]}, key="model"))
    assert error.value.key == f"{WHERE}.model"


def test_grid_error_names_the_command_line_override() -> None:
    (param,) = space({}, ("optimizer.lr=interval(0.1,1)",)).parameters
    with pytest.raises(SweepConfigError) as error:
        grid_values(param)
    assert error.value.key == "optimizer.lr=interval(0.1,1)"


def test_q_uniform_grid_is_numpy_arange_value_for_value() -> None:
    """W&B's grid is ``numpy.arange(min, max, q).tolist()``; ours is computed without numpy
    (the search space imports none), so compare the two over many bounds, ints and floats."""
    numpy = pytest.importorskip("numpy")
    rng = random.Random(0)
    for _ in range(3000):
        if rng.random() < 0.3:
            low: float = rng.randint(-50, 50)
            high: float = low + rng.randint(1, 200)
            q: float = rng.randint(1, 20)
        else:
            low = round(rng.uniform(-5, 5), rng.randint(0, 3))
            high = low + round(rng.uniform(0.01, 10), rng.randint(1, 3))
            q = round(rng.uniform(0.01, 2), rng.randint(1, 3))
        if high <= low or q <= 0:
            continue
        raw = {"distribution": "q_uniform", "min": low, "max": high, "q": q}
        ours = grid_values(parameter(raw))
        numpys = numpy.arange(low, high, q).tolist()
        assert ours == numpys, raw
        assert [type(v) for v in ours] == [type(v) for v in numpys], raw
