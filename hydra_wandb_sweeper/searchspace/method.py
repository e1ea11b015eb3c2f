"""Checks of ``method``, ``metric`` and ``early_terminate`` against W&B's sweep schema."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import grid_values, nearest

if TYPE_CHECKING:
    from hydra_wandb_sweeper.searchspace.space import SearchSpace

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
_METRIC_FIELDS = ("name", "goal", "target", "impute", "impute_while_running")
_IMPUTE_CHOICES = ("latest", "best", "worst")
_IMPUTE_WHILE_RUNNING_CHOICES = ("latest", "best", "worst", "false")
_HYPERBAND_FIELDS = ("type", "min_iter", "max_iter", "s", "eta", "strict")
_SWEEPER = "hydra.sweeper"


def validate_method(space: SearchSpace, method: Any, metric: Any, early_terminate: Any) -> None:
    """Raise :class:`SweepConfigError` for the first mistake in how the space is searched."""
    _check_method(method)
    metric_name = _checked_metric_name(metric)
    if method == "bayes" and metric_name is None:
        raise SweepConfigError(
            f"{_SWEEPER}.metric.name",
            "method bayes needs a metric to model; set metric: {name: <logged or returned "
            "metric>, goal: minimize|maximize}, or use method random",
        )
    if early_terminate is not None:
        _check_early_terminate(early_terminate)
        if metric_name is None:
            raise SweepConfigError(
                f"{_SWEEPER}.metric.name",
                "early_terminate needs a metric (hyperband compares runs on it); set "
                "metric: {name: <metric>, goal: minimize|maximize}",
            )
    if method == "grid":
        for parameter in space.parameters:
            grid_values(parameter.spec, parameter.origin or parameter.key)


def choose_method_name(space: SearchSpace, metric: Any) -> str:
    """The method of a sweep that names none: grid when every parameter is discrete and
    nothing is optimized (what ``-m a=1,2`` means with Hydra's basic sweeper), else random.
    No parameters at all is a grid of one job, as the basic sweeper runs."""
    if not space.parameters:
        return "grid"
    if metric is not None:
        return "random"
    try:
        for parameter in space.parameters:
            grid_values(parameter.spec, parameter.origin or parameter.key)
    except SweepConfigError:
        return "random"
    return "grid"


def _check_method(method: Any) -> None:
    if method not in METHODS:
        raise SweepConfigError(
            f"{_SWEEPER}.method",
            f"unknown method {method!r}; expected grid, random or bayes."
            f"{nearest(str(method), METHODS)}",
        )


def _checked_metric_name(metric: Any) -> str | None:
    """The metric's name, after checking every metric field; None when there is no metric."""
    if metric is None:
        return None
    where = f"{_SWEEPER}.metric"
    if not isinstance(metric, Mapping):
        raise SweepConfigError(
            where, f"expected {{name: <metric>, goal: minimize|maximize}}, got {metric!r}"
        )
    _reject_unknown(metric, _METRIC_FIELDS, where)
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise SweepConfigError(
            f"{where}.name", f"expected the metric's name as a non-empty string, got {name!r}"
        )
    _check_choice(metric, "goal", GOALS, where)
    _check_choice(metric, "impute", _IMPUTE_CHOICES, where)
    if metric.get("impute_while_running") is not False:
        _check_choice(metric, "impute_while_running", _IMPUTE_WHILE_RUNNING_CHOICES, where)
    target = metric.get("target")
    if target is not None and not _is_finite_number(target):
        raise SweepConfigError(
            f"{where}.target",
            f"expected a number (the sweep stops once it is reached), got {target!r}",
        )
    return name


def _check_early_terminate(early_terminate: Any) -> None:
    where = f"{_SWEEPER}.early_terminate"
    if not isinstance(early_terminate, Mapping):
        raise SweepConfigError(
            where, f"expected {{type: hyperband, min_iter: <n>, eta: 3}}, got {early_terminate!r}"
        )
    _reject_unknown(early_terminate, _HYPERBAND_FIELDS, where)
    kind = early_terminate.get("type")
    if kind != "hyperband":
        raise SweepConfigError(
            f"{where}.type",
            f"expected 'hyperband' (the only early-termination type W&B has), got {kind!r}."
            f"{nearest(str(kind), ['hyperband'])}",
        )
    for name in ("min_iter", "max_iter", "s"):
        value = early_terminate.get(name)
        if value is not None and (_as_int(value) is None or value < 1):
            raise SweepConfigError(f"{where}.{name}", f"expected an integer >= 1, got {value!r}")
    has_min_iter = early_terminate.get("min_iter") is not None
    has_max_iter = early_terminate.get("max_iter") is not None
    has_s = early_terminate.get("s") is not None
    if (has_max_iter and not has_s) or not (has_min_iter or has_max_iter):
        raise SweepConfigError(
            where,
            f"hyperband needs min_iter, or max_iter and s, to place its bands; got "
            f"{dict(early_terminate)!r}. E.g. {{type: hyperband, min_iter: 3, eta: 3}}",
        )
    eta = early_terminate.get("eta")
    if eta is not None and (not _is_finite_number(eta) or eta <= 1):
        raise SweepConfigError(
            f"{where}.eta",
            f"expected a number > 1 (keep the top 1/eta of runs at each band; default 3), "
            f"got {eta!r}",
        )
    if not hyperband_bands(early_terminate):
        raise SweepConfigError(
            where,
            f"max_iter / eta is below 1, so hyperband has no band to stop runs at (W&B's "
            f"scheduler refuses it); got {dict(early_terminate)!r}: raise max_iter or lower eta",
        )
    strict = early_terminate.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise SweepConfigError(f"{where}.strict", f"expected true or false, got {strict!r}")


def hyperband_bands(early_terminate: Mapping[str, Any]) -> list[int]:
    """The numbers of metric rows at which hyperband compares runs, as W&B's scheduler places
    them (``sweeps/hyperband_stopping.py``): with ``max_iter`` and ``s`` (which win when both
    forms are given), ``int(max_iter / eta**i)`` for i = 1..s while it stays >= 1; else
    ``int(min_iter * eta**k)`` for k = 0..99. Same arithmetic as W&B's (``eta`` kept int or
    float as written), so the same bands. Expects a checked ``early_terminate``."""
    eta = early_terminate.get("eta")
    eta = 3 if eta is None else eta
    bands: list[int] = []
    if early_terminate.get("max_iter") is not None:
        band: float = early_terminate["max_iter"]
        for _ in range(int(early_terminate["s"])):
            band /= eta
            if band < 1:
                break
            bands.append(int(band))
        return sorted(bands)
    band = early_terminate["min_iter"]
    for _ in range(100):
        bands.append(int(band))
        band *= eta
    return bands


def _reject_unknown(fields: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    for name in fields:
        if name not in known:
            raise SweepConfigError(
                f"{where}.{name}",
                f"unknown field (value {fields[name]!r}); expected one of {', '.join(known)}."
                f"{nearest(str(name), known)}",
            )


def _check_choice(fields: Mapping[str, Any], name: str, choices: Sequence[str], where: str) -> None:
    value = fields.get(name)
    if value is not None and value not in choices:
        raise SweepConfigError(
            f"{where}.{name}",
            f"expected one of {', '.join(choices)}, got {value!r}.{nearest(str(value), choices)}",
        )


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _as_int(value: Any) -> int | None:
    """``value`` as an int when it is an int or an integral float (YAML ``3.0``), else None."""
    if not _is_finite_number(value) or (isinstance(value, float) and not value.is_integer()):
        return None
    return int(value)
