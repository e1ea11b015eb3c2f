"""Shared cases of the translation-layer tests: helpers and one canonical spec per distribution."""

from __future__ import annotations

from typing import Any

import pytest

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.space import (
    Parameter,
    SearchSpace,
    build_search_space,
    canonical_spec,
    wandb_name_for,
)

WHERE = "hydra.sweeper.parameters"


def spec(raw: Any, key: str = "x") -> dict[str, Any]:
    return canonical_spec(key, raw, where=WHERE)


def config_error(raw: Any, key: str = "x") -> str:
    with pytest.raises(SweepConfigError) as error:
        spec(raw, key)
    assert error.value.key == f"{WHERE}.{key}"
    return str(error.value)


def space(parameters: dict[str, Any], arguments: tuple[str, ...] = ()) -> SearchSpace:
    return build_search_space(parameters, list(arguments))


def build_error(parameters: dict[str, Any], arguments: tuple[str, ...] = ()) -> SweepConfigError:
    with pytest.raises(SweepConfigError) as error:
        space(parameters, arguments)
    return error.value


def parameter(raw: Any, key: str = "x") -> Parameter:
    return Parameter(key, wandb_name_for(key), spec(raw, key), origin=f"{WHERE}.{key}")


# --- W&B dicts: canonical forms, defaults, implied distributions ---------------------------------

CANONICAL = [
    ({"value": 3}, {"distribution": "constant", "value": 3}),
    (
        {"distribution": "constant", "value": [1, "a"]},
        {"distribution": "constant", "value": [1, "a"]},
    ),
    (
        {"values": [1, "a", None, [2]]},
        {"distribution": "categorical", "values": [1, "a", None, [2]]},
    ),
    (
        {"distribution": "categorical", "values": (1, 2)},
        {"distribution": "categorical", "values": [1, 2]},
    ),
    (
        {"values": ["a", "b"], "probabilities": [0.25, 0.75]},
        {
            "distribution": "categorical_w_probabilities",
            "values": ["a", "b"],
            "probabilities": [0.25, 0.75],
        },
    ),
    ({"min": 1, "max": 8}, {"distribution": "int_uniform", "min": 1, "max": 8}),
    ({"min": 0, "max": 1.0}, {"distribution": "uniform", "min": 0, "max": 1.0}),
    ({"min": 0.5, "max": 2}, {"distribution": "uniform", "min": 0.5, "max": 2}),
    (
        {"distribution": "int_uniform", "min": 1.0, "max": 8.0},
        {"distribution": "int_uniform", "min": 1, "max": 8},
    ),
    (
        {"distribution": "uniform", "min": -1, "max": 1},
        {"distribution": "uniform", "min": -1, "max": 1},
    ),
    (
        {"distribution": "q_uniform", "min": 0, "max": 10},
        {"distribution": "q_uniform", "min": 0, "max": 10, "q": 1.0},
    ),
    (
        {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
        {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
    ),
    (
        {"distribution": "log_uniform_values", "min": 1e-5, "max": 0.1},
        {"distribution": "log_uniform_values", "min": 1e-5, "max": 0.1},
    ),
    (
        {"distribution": "q_log_uniform_values", "min": 8, "max": 256},
        {"distribution": "q_log_uniform_values", "min": 8, "max": 256, "q": 1.0},
    ),
    (
        {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1},
        {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1},
    ),
    ({"distribution": "normal"}, {"distribution": "normal", "mu": 0.0, "sigma": 1.0}),
    (
        {"distribution": "q_normal", "mu": 5, "q": 0.5},
        {"distribution": "q_normal", "mu": 5, "sigma": 1.0, "q": 0.5},
    ),
    (
        {"distribution": "log_normal", "sigma": 2},
        {"distribution": "log_normal", "mu": 0.0, "sigma": 2},
    ),
    (
        {"distribution": "q_log_normal", "mu": -1, "sigma": 0.5, "q": 2},
        {"distribution": "q_log_normal", "mu": -1, "sigma": 0.5, "q": 2},
    ),
    ({"distribution": "beta"}, {"distribution": "beta", "a": 1.0, "b": 1.0}),
    (
        {"distribution": "q_beta", "a": 2, "b": 5, "q": 0.1},
        {"distribution": "q_beta", "a": 2, "b": 5, "q": 0.1},
    ),
    (
        {"distribution": "log_uniform", "min": -5, "max": 0},
        {"distribution": "log_uniform", "min": -5, "max": 0},
    ),
    (
        {"distribution": "q_log_uniform", "min": 0, "max": 3},
        {"distribution": "q_log_uniform", "min": 0, "max": 3, "q": 1.0},
    ),
    (
        {"distribution": "inv_log_uniform", "min": -3, "max": 1.5},
        {"distribution": "inv_log_uniform", "min": -3, "max": 1.5},
    ),
]
