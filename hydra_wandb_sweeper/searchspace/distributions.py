"""W&B parameter dicts → one canonical spec per parameter; grid values of discrete specs.

A canonical spec always names its ``distribution`` and holds exactly the fields that
distribution uses, defaults filled in (``q`` 1.0, ``mu`` 0.0, ``sigma`` 1.0, ``a``/``b`` 1.0,
as in W&B's schema), numbers as plain Python ints and floats. Defaults are floats as in
W&B's schema, so an omitted ``q`` yields float values; write ``q: 1`` to get ints.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.overrides import format_override_value, to_python_value

DISTRIBUTION_FIELDS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "categorical": ("values",),
    "categorical_w_probabilities": ("values", "probabilities"),
    "int_uniform": ("min", "max"),
    "uniform": ("min", "max"),
    "q_uniform": ("min", "max", "q"),
    "log_uniform_values": ("min", "max"),
    "q_log_uniform_values": ("min", "max", "q"),
    "inv_log_uniform_values": ("min", "max"),
    "normal": ("mu", "sigma"),
    "q_normal": ("mu", "sigma", "q"),
    "log_normal": ("mu", "sigma"),
    "q_log_normal": ("mu", "sigma", "q"),
    "beta": ("a", "b"),
    "q_beta": ("a", "b", "q"),
    # Deprecated by W&B (min/max are base-e exponents) but still accepted by it.
    "log_uniform": ("min", "max"),
    "q_log_uniform": ("min", "max", "q"),
    "inv_log_uniform": ("min", "max"),
}
DEPRECATED_DISTRIBUTIONS = frozenset({"log_uniform", "q_log_uniform", "inv_log_uniform"})
DISCRETE_DISTRIBUTIONS = frozenset(
    {"constant", "categorical", "categorical_w_probabilities", "int_uniform", "q_uniform"}
)
# Distributions whose min must be > 0 because they take logarithms of the values.
_POSITIVE_MIN_DISTRIBUTIONS = frozenset(
    {"log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"}
)
_FIELD_DEFAULTS: dict[str, float] = {"q": 1.0, "mu": 0.0, "sigma": 1.0, "a": 1.0, "b": 1.0}
_POSITIVE_FIELDS = frozenset({"q", "sigma", "a", "b"})
_PROBABILITY_TOLERANCE = 1e-6
# A larger grid is a typo (a tiny q, a huge int range), not a sweep anyone can run.
MAX_GRID_SIZE = 100_000


def spec_from_wandb_dict(raw: Mapping[str, Any], error_key: str) -> dict[str, Any]:
    """Validate one W&B parameter dict (``{distribution: ..., min: ..., ...}``) → canonical spec."""
    fields = {str(name): to_python_value(value) for name, value in raw.items()}
    if "parameters" in fields:
        raise SweepConfigError(
            error_key,
            f"a nested 'parameters:' block cannot sit beside distribution fields {sorted(fields)}; "
            "put every nested parameter under 'parameters:'",
        )
    distribution, implied = _distribution_of(fields, error_key)
    allowed = DISTRIBUTION_FIELDS[distribution]
    _reject_unknown_fields(fields, distribution, implied, error_key)
    spec: dict[str, Any] = {"distribution": distribution}
    for name in allowed:
        if name in fields:
            spec[name] = _checked_field(name, fields[name], distribution, error_key)
        elif name in _FIELD_DEFAULTS:
            spec[name] = _FIELD_DEFAULTS[name]
        else:
            raise SweepConfigError(
                error_key,
                f"distribution {distribution} needs the field '{name}' (got {dict(raw)!r}); "
                f"its fields are {', '.join(allowed)}",
            )
    _check_field_relations(spec, error_key)
    return spec


def grid_values(spec: Mapping[str, Any], error_key: str) -> list[Any]:
    """The values ``method: grid`` iterates over, in order, as W&B's scheduler makes them.

    ``q_uniform`` gives ``min, min + q, ...`` below ``max`` (``max`` itself excluded), floats
    unless ``min``, ``max`` and ``q`` are all ints: W&B's grid is ``numpy.arange(min, max,
    q)``. ``categorical_w_probabilities`` is refused, as W&B's grid refuses it.
    """
    distribution = spec["distribution"]
    if distribution == "constant":
        return [spec["value"]]
    if distribution == "categorical":
        return list(spec["values"])
    if distribution == "int_uniform":
        _check_grid_size(spec, spec["max"] - spec["min"] + 1, error_key)
        return list(range(spec["min"], spec["max"] + 1))
    if distribution == "q_uniform":
        _check_grid_size(spec, _arange_length(spec["min"], spec["max"], spec["q"]), error_key)
        return _arange(spec["min"], spec["max"], spec["q"])
    if distribution == "categorical_w_probabilities":
        raise SweepConfigError(
            error_key,
            f"method grid runs every value once, so it takes no probabilities ({dict(spec)!r}); "
            "drop 'probabilities' (W&B's grid refuses them), or choose method random or bayes",
        )
    raise SweepConfigError(
        error_key,
        f"method grid needs discrete parameters, but this one is continuous ({dict(spec)!r}); "
        "use values: [...], int_uniform or q_uniform, or choose method random or bayes",
    )


def nearest(word: str, choices: Sequence[str]) -> str:
    """`` Did you mean 'x'?`` for the closest choice, or ``""`` when none is close."""
    prefixed = [choice for choice in choices if word and choice.startswith(word)]
    matches = prefixed[:1] or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


def _distribution_of(fields: dict[str, Any], error_key: str) -> tuple[str, bool]:
    """The distribution named in ``fields`` (popped), or the one W&B implies from the fields."""
    if "distribution" in fields:
        name = fields.pop("distribution")
        if not isinstance(name, str) or name not in DISTRIBUTION_FIELDS:
            raise SweepConfigError(
                error_key,
                f"unknown distribution {name!r}; expected one of "
                f"{', '.join(DISTRIBUTION_FIELDS)}.{nearest(str(name), list(DISTRIBUTION_FIELDS))}",
            )
        return name, False
    if "values" in fields:
        implied = "categorical_w_probabilities" if "probabilities" in fields else "categorical"
    elif "value" in fields:
        implied = "constant"
    elif "min" in fields or "max" in fields:
        bounds = [fields.get("min"), fields.get("max")]
        all_ints = all(
            isinstance(b, int) and not isinstance(b, bool) for b in bounds if b is not None
        )
        implied = "int_uniform" if all_ints else "uniform"
    else:
        nested = any(isinstance(value, Mapping) for value in fields.values())
        hint = " Nested parameters go under a 'parameters:' block." if nested else ""
        raise SweepConfigError(
            error_key,
            f"cannot tell the distribution of {fields!r}; write 'distribution:' with its fields, "
            f"or 'value:' (constant), 'values:' (categorical), or 'min:'/'max:' (uniform).{hint}",
        )
    return implied, True


def _reject_unknown_fields(
    fields: Mapping[str, Any], distribution: str, implied: bool, error_key: str
) -> None:
    allowed = DISTRIBUTION_FIELDS[distribution]
    unknown = [name for name in fields if name not in allowed]
    if not unknown:
        return
    name = unknown[0]
    how = f"{distribution} (implied by its fields)" if implied else distribution
    takers = [d for d, names in DISTRIBUTION_FIELDS.items() if name in names]
    hint = f" '{name}' belongs to {', '.join(takers)}." if takers else ""
    if not takers and all(isinstance(fields[n], Mapping) for n in unknown):
        hint = " Nested parameters go under a 'parameters:' block."
    raise SweepConfigError(
        error_key,
        f"unknown field '{name}' (value {fields[name]!r}) for distribution {how}; "
        f"its fields are {', '.join(allowed)}.{nearest(name, allowed)}{hint}",
    )


def _checked_field(name: str, value: Any, distribution: str, error_key: str) -> Any:
    if name == "value":
        _check_writable(value, error_key)
        return value
    if name == "values":
        return _checked_values(value, error_key)
    if name == "probabilities":
        return [
            _checked_number(f"probabilities[{i}]", p, error_key)
            for i, p in _enumerated(name, value, error_key)
        ]
    if distribution == "int_uniform":
        return _checked_integer(name, value, error_key)
    number = _checked_number(name, value, error_key)
    if name in _POSITIVE_FIELDS and number <= 0:
        raise SweepConfigError(error_key, f"{name} must be > 0, got {value!r}")
    return number


def _checked_values(values: Any, error_key: str) -> list[Any]:
    items = [item for _, item in _enumerated("values", values, error_key)]
    if not items:
        raise SweepConfigError(error_key, "values is empty; give at least one value")
    for item in items:
        _check_writable(item, error_key)
    return items


def _enumerated(name: str, value: Any, error_key: str) -> list[tuple[int, Any]]:
    if not isinstance(value, list):
        raise SweepConfigError(error_key, f"{name} must be a list, got {value!r}")
    return list(enumerate(value))


def _check_writable(value: Any, error_key: str) -> None:
    try:
        format_override_value(value)
    except ValueError as error:
        raise SweepConfigError(error_key, str(error)) from None


def _checked_number(name: str, value: Any, error_key: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SweepConfigError(error_key, f"{name} must be a finite number, got {value!r}")
    return value


def _checked_integer(name: str, value: Any, error_key: str) -> int:
    number = _checked_number(name, value, error_key)
    if isinstance(number, float):
        if not number.is_integer():
            raise SweepConfigError(
                error_key,
                f"int_uniform needs integer {name}, got {value!r}; use distribution uniform "
                "or q_uniform for non-integer bounds",
            )
        return int(number)
    return number


def _check_field_relations(spec: dict[str, Any], error_key: str) -> None:
    distribution = spec["distribution"]
    if "min" in spec and spec["min"] >= spec["max"]:
        raise SweepConfigError(
            error_key,
            f"min ({spec['min']!r}) must be less than max ({spec['max']!r}) for {distribution}; "
            "for a single value use 'value:' (constant)",
        )
    if distribution in _POSITIVE_MIN_DISTRIBUTIONS and spec["min"] <= 0:
        raise SweepConfigError(
            error_key,
            f"{distribution} needs min > 0 (it samples on a log scale), got min {spec['min']!r}",
        )
    if distribution == "categorical_w_probabilities":
        _check_probabilities(spec["values"], spec["probabilities"], error_key)


def _check_probabilities(values: list[Any], probabilities: list[float], error_key: str) -> None:
    if len(probabilities) != len(values):
        raise SweepConfigError(
            error_key,
            f"probabilities {probabilities!r} has {len(probabilities)} entries but values has "
            f"{len(values)}; give one probability per value",
        )
    negative = [p for p in probabilities if p < 0]
    if negative:
        raise SweepConfigError(
            error_key, f"probabilities must be >= 0, got {negative[0]!r} in {probabilities!r}"
        )
    total = math.fsum(probabilities)
    if abs(total - 1.0) > _PROBABILITY_TOLERANCE:
        raise SweepConfigError(
            error_key, f"probabilities {probabilities!r} sum to {total!r}; they must sum to 1"
        )


def _check_grid_size(spec: Mapping[str, Any], size: int, error_key: str) -> None:
    # min < max is checked with the spec, so a grid has at least one value
    if size > MAX_GRID_SIZE:
        raise SweepConfigError(
            error_key,
            f"method grid would enumerate {size} values of {dict(spec)!r} (limit "
            f"{MAX_GRID_SIZE}); use a coarser q, a narrower range or method random or bayes",
        )


def _arange_length(low: float, high: float, step: float) -> int:
    return max(0, math.ceil((high - low) / step))


def _arange(low: float, high: float, step: float) -> list[Any]:
    """``numpy.arange(low, high, step).tolist()``, value for value (numpy is no dependency
    of this layer): ints when all three are ints; else ``low``, ``low + step``, then
    ``low + i * delta`` with ``delta = (low + step) - low``, as numpy fills a float range."""
    length = _arange_length(low, high, step)
    if not any(isinstance(value, float) for value in (low, high, step)):
        return [low + i * step for i in range(length)]
    start = float(low)
    second = start + step
    delta = second - start
    return [start, second][:length] + [start + i * delta for i in range(2, length)]
