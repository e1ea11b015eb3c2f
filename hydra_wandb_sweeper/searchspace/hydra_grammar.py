"""Hydra's sweep grammar → W&B parameter dicts, parsed by Hydra's own ``OverridesParser``.

=================================  =============================================
Hydra sweep                        W&B parameter
=================================  =============================================
``a,b,c`` / ``choice(a,b,c)``      ``categorical`` over the parsed values
``range(1,5)`` (ints, step 1)      ``int_uniform`` ``{min: 1, max: 4}``
other ``range(...)``               ``categorical`` over the expanded values
``interval(0.1,0.5)``              ``uniform``
``int(interval(1,8))``             ``int_uniform`` ``{min: 1, max: 8}``
``tag(log, interval(a,b))``        ``log_uniform_values``
``tag(log, int(interval(a,b)))``   ``q_log_uniform_values`` with ``q: 1`` (ints)
a plain value (``0.01``)           ``constant``
=================================  =============================================

Small differences from Hydra, on purpose:

- Hydra's ``interval`` is half-open ``[start, end)``; W&B's ``min``/``max`` bounds are
  inclusive, so ``end`` itself may be sampled (and ``int(interval(1,8))`` includes 8, as in
  Hydra's Optuna sweeper).
- ``shuffle(...)`` is ignored: order does not matter to random or bayes, and grid goes
  through the values in the order written.
- A float ``range`` steps in decimal (``range(0.1,0.4,0.1)`` is 0.1, 0.2, 0.3), where Hydra
  adds binary floats (0.1, 0.2, 0.30000000000000004, 0.4).
- Tags other than ``log`` are ignored; ``log`` on a choice or range is an error.
- ``${...}`` in a swept value is refused: W&B would record the text while the job would
  see the interpolated value.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    QuotedString,
    RangeSweep,
    ValueType,
)
from hydra.errors import HydraException

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import MAX_GRID_SIZE

LOG_TAG = "log"


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


def parse_override(line: str, error_key: str) -> Override:
    """Parse one command-line override with Hydra's grammar."""
    try:
        (parsed,) = _parser().parse_overrides([line])
    except HydraException as error:
        raise SweepConfigError(
            error_key, f"cannot parse {line!r} as a Hydra override: {error}"
        ) from None
    return parsed


def is_hydra_key(parsed: Override) -> bool:
    """True for Hydra's own config (``hydra.job.chdir``, ``hydra/launcher``), which no sweep may set."""
    key = parsed.key_or_group
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def wandb_dict_from_override(parsed: Override, error_key: str) -> dict[str, Any]:
    """The W&B parameter dict for the value of a parsed override (sweep or plain value)."""
    if parsed.value_type == ValueType.GLOB_CHOICE_SWEEP:
        raise SweepConfigError(
            error_key,
            "glob(...) needs Hydra's config repository, which a sweep space cannot see; "
            "list the options instead, e.g. model=cnn_tcn,cnn_bilstm",
        )
    value = parsed.value()
    if isinstance(value, ChoiceSweep):
        _reject_log_tag(value.tags, "choice", error_key)
        return {"distribution": "categorical", "values": _literal(value.list, error_key)}
    if isinstance(value, RangeSweep):
        _reject_log_tag(value.tags, "range", error_key)
        return _range_dict(value, error_key)
    if isinstance(value, IntervalSweep):
        return _interval_dict(value, error_key)
    return {"distribution": "constant", "value": _literal(value, error_key)}


def _reject_log_tag(tags: set[str], sweep_name: str, error_key: str) -> None:
    if LOG_TAG in tags:
        raise SweepConfigError(
            error_key,
            f"tag(log, ...) applies to interval(...) only, not to {sweep_name}(...); "
            "write tag(log, interval(low, high)) or tag(log, int(interval(low, high)))",
        )


def _range_dict(sweep: RangeSweep, error_key: str) -> dict[str, Any]:
    start, stop, step = sweep.start, sweep.stop, sweep.step
    all_ints = all(isinstance(x, int) and not isinstance(x, bool) for x in (start, stop, step))
    if all_ints and step == 1 and stop - start > 1:
        return {"distribution": "int_uniform", "min": start, "max": stop - 1}
    if step == 0:
        raise SweepConfigError(
            error_key, f"invalid range(start={start}, stop={stop}, step={step}): step must not be 0"
        )
    steps = range(start, stop, step) if all_ints else _decimal_range(start, stop, step)
    values = list(itertools.islice(steps, MAX_GRID_SIZE + 1))
    if not values:
        raise SweepConfigError(
            error_key,
            f"range(start={start}, stop={stop}, step={step}) is empty (stop is excluded); "
            "make stop larger than start, or the step negative to count down",
        )
    if len(values) > MAX_GRID_SIZE:
        raise SweepConfigError(
            error_key,
            f"range(start={start}, stop={stop}, step={step}) has more than {MAX_GRID_SIZE} "
            "values; use interval(...) or int(interval(...)) for a wide range",
        )
    return {"distribution": "categorical", "values": values}


def _decimal_range(start: float, stop: float, step: float) -> Iterator[float]:
    """Like Hydra's float range, but stepping in decimal: range(0.1,0.4,0.1) ends at 0.3."""
    current, end, increment = (Decimal(repr(x)) for x in (start, stop, step))
    while (current < end) if increment > 0 else (current > end):
        yield float(current)
        current += increment


def _interval_dict(sweep: IntervalSweep, error_key: str) -> dict[str, Any]:
    low, high = sweep.start, sweep.end
    assert low is not None and high is not None  # interval(start, end) takes both
    if low >= high:
        raise SweepConfigError(error_key, f"interval start {low!r} must be below its end {high!r}")
    integer = isinstance(low, int) and isinstance(high, int)
    if LOG_TAG not in sweep.tags:
        return {"distribution": "int_uniform" if integer else "uniform", "min": low, "max": high}
    if low <= 0:
        raise SweepConfigError(
            error_key,
            f"tag(log, ...) needs an interval above 0 (a log scale), got start {low!r}",
        )
    if integer:
        return {"distribution": "q_log_uniform_values", "min": low, "max": high, "q": 1}
    return {"distribution": "log_uniform_values", "min": low, "max": high}


def _literal(value: Any, error_key: str) -> Any:
    """A parsed element as a plain Python value (quoted strings unwrapped), interpolations refused."""
    if isinstance(value, QuotedString):
        value = value.text
    if isinstance(value, str) and "${" in value:
        raise SweepConfigError(
            error_key,
            f"the swept value {value!r} is an interpolation; W&B would record its text while the "
            "job would see the interpolated value. Sweep the referenced key instead, or give "
            "the literal values",
        )
    if isinstance(value, list):
        return [_literal(item, error_key) for item in value]
    if isinstance(value, dict):
        return {_literal(k, error_key): _literal(v, error_key) for k, v in value.items()}
    return value
