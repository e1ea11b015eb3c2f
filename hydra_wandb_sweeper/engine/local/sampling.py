"""W&B distributions sampled through an Optuna trial.

Each W&B distribution is an Optuna distribution for the value the sampler proposes (the
"raw" value, the one Optuna's samplers model and learn from) plus a transform to the W&B
value. Distributions Optuna has no native form for (normal, beta, weighted categorical,
the deprecated base-e log forms) are sampled as a float in (0, 1) or as the exponent, and
mapped through the inverse CDF, so every sampler (random, TPE, GP) can drive them.

In grid mode every parameter is a categorical over its grid values, in the order the
W&B sweep would enumerate them. :func:`build_sampler` is the Optuna sampler of each method.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import numpy as np
import optuna

from hydra_wandb_sweeper.searchspace.space import Parameter, grid_values

# Inverse-CDF inputs are kept off 0 and 1 so that normal and beta stay finite.
_UNIT_EPS = 1e-9
_OptunaPrimitive = (type(None), bool, int, float, str)


def suggest(trial: optuna.Trial, param: Parameter, *, grid: bool) -> Any:
    """The W&B value of ``param`` for this trial (a Python value, never a numpy scalar)."""
    spec = param.spec
    if grid:
        return _suggest_choice(trial, param.key, grid_values(param))
    kind = spec["distribution"]
    if kind == "constant":
        return spec["value"]
    if kind == "categorical":
        return _suggest_choice(trial, param.key, spec["values"])
    sampler = _SAMPLERS.get(kind)
    if sampler is None:  # the translation layer only produces known distributions
        raise ValueError(f"{param.key}: no sampler for distribution {kind!r}")
    return sampler(trial, param.key, spec)


def grid_choices(values: Sequence[Any]) -> list[Any]:
    """What Optuna stores for a grid axis: its values, or their positions when a value is
    not a primitive (Optuna stores only primitive choices; lists and dicts go by position)."""
    return list(values) if _all_primitive(values) else list(range(len(values)))


def _suggest_choice(trial: optuna.Trial, name: str, choices: Sequence[Any]) -> Any:
    picked = trial.suggest_categorical(name, grid_choices(choices))
    return picked if _all_primitive(choices) else choices[picked]


def _all_primitive(choices: Sequence[Any]) -> bool:
    return all(isinstance(choice, _OptunaPrimitive) for choice in choices)


def quantize(value: float, q: float) -> int | float:
    """W&B's ``round(value / q) * q``, as an int when ``q`` is an int, else without float noise."""
    steps = round(value / q)
    if isinstance(q, int) and not isinstance(q, bool):
        return int(steps * q)
    decimals = max(0, -Decimal(repr(float(q))).as_tuple().exponent)  # type: ignore[operator]
    return round(steps * q, decimals + 1)


def _unit(trial: optuna.Trial, name: str) -> float:
    return trial.suggest_float(name, _UNIT_EPS, 1.0 - _UNIT_EPS)


def _normal(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    return NormalDist(spec["mu"], spec["sigma"]).inv_cdf(_unit(trial, name))


def _beta(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    from scipy.special import betaincinv

    return float(betaincinv(spec["a"], spec["b"], _unit(trial, name)))


def _weighted_choice(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> Any:
    u = _unit(trial, name)
    cumulative = 0.0
    for value, probability in zip(spec["values"], spec["probabilities"], strict=True):
        cumulative += probability
        if u <= cumulative:
            return value
    return spec["values"][-1]


def _uniform(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    return trial.suggest_float(name, spec["min"], spec["max"])


def _log_uniform(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    return trial.suggest_float(name, spec["min"], spec["max"], log=True)


def _exponent(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    # Deprecated W&B forms: min and max are base-e exponents.
    return trial.suggest_float(name, spec["min"], spec["max"])


def _quantized(
    base: Callable[[optuna.Trial, str, Mapping[str, Any]], float],
) -> Callable[[optuna.Trial, str, Mapping[str, Any]], int | float]:
    def sample(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> int | float:
        return quantize(base(trial, name, spec), spec["q"])

    return sample


def _int_uniform(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> int:
    return trial.suggest_int(name, spec["min"], spec["max"])


def _log_normal(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    return math.exp(_normal(trial, name, spec))


def _exp(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    return math.exp(_exponent(trial, name, spec))


def _inv_exp(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> float:
    return math.exp(-_exponent(trial, name, spec))


_SAMPLERS: dict[str, Callable[[optuna.Trial, str, Mapping[str, Any]], Any]] = {
    "categorical_w_probabilities": _weighted_choice,
    "int_uniform": _int_uniform,
    "uniform": _uniform,
    "q_uniform": _quantized(_uniform),
    "log_uniform_values": _log_uniform,
    "q_log_uniform_values": _quantized(_log_uniform),
    # 1/X is log-uniform on [min, max] exactly when X is log-uniform on [1/max, 1/min].
    "inv_log_uniform_values": _log_uniform,
    "log_uniform": _exp,
    "q_log_uniform": _quantized(_exp),
    "inv_log_uniform": _inv_exp,
    "normal": _normal,
    "q_normal": _quantized(_normal),
    "log_normal": _log_normal,
    "q_log_normal": _quantized(_log_normal),
    "beta": _beta,
    "q_beta": _quantized(_beta),
}


def joiner_seed(seed: int | None, started: int) -> int | None:
    # The printed join command repeats the seed: each joining process must still draw its
    # own proposals, or it would repeat the first process's trials.
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, started, os.getpid()]).generate_state(1)[0])
