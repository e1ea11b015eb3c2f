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
``tag(D, interval(a,b))``          W&B distribution ``D`` with a, b as its two fields:
                                   ``min``/``max``, ``mu``/``sigma`` (normal forms) or
                                   ``a``/``b`` (beta forms)
``glob(...)``                      ``categorical`` over the config group's matching options
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
- A tag names the distribution of an ``interval`` (``log``, or a W&B distribution as in
  ``tag(normal, interval(0, 1))``, the grammar of the older captain-pool sweeper); any other
  tag, two distributions at once, or a tag on a choice or range is an error, never ignored.
  W&B's deprecated ``log_uniform`` takes base-e exponents as ``min``/``max``, as in W&B.
- ``${...}`` in a swept value is refused: W&B would record the text while the job would
  see the interpolated value.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    Glob,
    IntervalSweep,
    Override,
    QuotedString,
    RangeSweep,
)
from hydra.errors import HydraException

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import (
    DISTRIBUTION_FIELDS,
    MAX_GRID_SIZE,
    nearest,
)

LOG_TAG = "log"
# W&B distributions a tag can name: those with two numeric fields for interval(a, b) to fill
TAGGABLE_DISTRIBUTIONS = {
    name: fields
    for name, fields in DISTRIBUTION_FIELDS.items()
    if fields[:2] in (("min", "max"), ("mu", "sigma"), ("a", "b"))
}


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


GroupOptions = Callable[[str], list[str]]


def wandb_dict_from_override(
    parsed: Override, error_key: str, group_options: GroupOptions | None = None
) -> dict[str, Any]:
    """The W&B parameter dict for the value of a parsed override (sweep or plain value).

    ``group_options`` lists a config group's options, for ``glob(...)``.
    """
    value = parsed.value()
    if isinstance(value, Glob):
        return _glob_dict(parsed, value, error_key, group_options)
    if isinstance(value, ChoiceSweep):
        _reject_tags(value.tags, "choice", error_key)
        return {"distribution": "categorical", "values": _literal(value.list, error_key)}
    if isinstance(value, RangeSweep):
        _reject_tags(value.tags, "range", error_key)
        return _range_dict(value, error_key)
    if isinstance(value, IntervalSweep):
        return _interval_dict(value, error_key)
    return {"distribution": "constant", "value": _literal(value, error_key)}


def _glob_dict(
    parsed: Override, glob: Glob, error_key: str, group_options: GroupOptions | None
) -> dict[str, Any]:
    """``glob(...)``: the config group's options it matches, as Hydra's basic sweeper does."""
    options = [] if group_options is None else group_options(parsed.key_or_group)
    if not options:
        raise SweepConfigError(
            error_key,
            f"glob(...) selects options of a config group, and {parsed.key_or_group!r} is not "
            "a config group with options",
        )
    chosen = glob.filter(options)
    if not chosen:
        raise SweepConfigError(
            error_key,
            f"glob(...) matches none of the options of config group {parsed.key_or_group!r}: "
            f"{', '.join(options)}",
        )
    return {"distribution": "categorical", "values": chosen}


def _reject_tags(tags: set[str], sweep_name: str, error_key: str) -> None:
    if LOG_TAG in tags:
        raise SweepConfigError(
            error_key,
            f"tag(log, ...) applies to interval(...) only, not to {sweep_name}(...); "
            "write tag(log, interval(low, high)) or tag(log, int(interval(low, high)))",
        )
    if tags:
        raise SweepConfigError(
            error_key,
            f"tag({', '.join(sorted(tags))}, ...) on {sweep_name}(...) has no meaning here: a "
            f"{sweep_name} is a categorical parameter; tags name a distribution for "
            "interval(...), e.g. tag(normal, interval(mu, sigma))",
        )


def _tagged_interval_dict(sweep: IntervalSweep, error_key: str) -> dict[str, Any]:
    """``tag(<W&B distribution>, interval(a, b))``: a and b are its two numeric fields."""
    tags = sorted(sweep.tags)
    unknown = [tag for tag in tags if tag != LOG_TAG and tag not in TAGGABLE_DISTRIBUTIONS]
    if unknown:
        choices = [LOG_TAG, *TAGGABLE_DISTRIBUTIONS]
        raise SweepConfigError(
            error_key,
            f"unknown tag {unknown[0]!r}: a tag names how interval(...) is sampled, one of "
            f"{', '.join(choices)}.{nearest(unknown[0], choices)}",
        )
    if len(tags) > 1:
        raise SweepConfigError(
            error_key, f"tags {', '.join(tags)} name different distributions; keep one"
        )
    distribution = tags[0]
    first, second = TAGGABLE_DISTRIBUTIONS[distribution][:2]
    return {"distribution": distribution, first: sweep.start, second: sweep.end}


def _range_dict(sweep: RangeSweep, error_key: str) -> dict[str, Any]:
    start, stop, step = sweep.start, sweep.stop, sweep.step
    assert start is not None and stop is not None  # Hydra's grammar fills both
    all_ints = all(isinstance(x, int) and not isinstance(x, bool) for x in (start, stop, step))
    if all_ints and step == 1 and stop - start > 1:
        return {"distribution": "int_uniform", "min": start, "max": stop - 1}
    if step == 0:
        raise SweepConfigError(
            error_key, f"invalid range(start={start}, stop={stop}, step={step}): step must not be 0"
        )
    steps = (
        range(int(start), int(stop), int(step)) if all_ints else _decimal_range(start, stop, step)
    )
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
    if sweep.tags - {LOG_TAG}:
        return _tagged_interval_dict(sweep, error_key)
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
