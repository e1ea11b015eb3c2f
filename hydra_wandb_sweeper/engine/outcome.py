"""The trial's objective, read from what the task returned."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hydra_wandb_sweeper.engine.base import TrialState

Outcome = tuple[TrialState, "float | None", "str | None"]


def as_number(value: Any) -> Any:
    """Python numbers from numpy and torch scalars; anything else unchanged."""
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        try:
            return value.item()
        except (ValueError, RuntimeError, TypeError):  # an array of several values
            return value
    return value


def is_usable_metric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def objective_outcome(returned: Any, metric_name: str | None) -> Outcome:
    """Finished with the metric, or failed with a message saying what the task returned."""
    if metric_name is None:  # grid and random sweeps may run without a metric
        value = as_number(returned)
        return TrialState.FINISHED, float(value) if is_usable_metric(value) else None, None
    value = returned
    if isinstance(returned, Mapping):
        if metric_name not in returned:
            available = ", ".join(map(str, returned)) or "none"
            return (
                TrialState.FAILED,
                None,
                (
                    f"the task returned a dict without metric {metric_name!r} "
                    f"(keys: {available}); set hydra.sweeper.metric.name to one of them"
                ),
            )
        value = returned[metric_name]
    value = as_number(value)
    if not is_usable_metric(value):
        return (
            TrialState.FAILED,
            None,
            (
                f"metric {metric_name} is {value!r}: the task must return a finite number, "
                "or a dict holding metric.name"
            ),
        )
    return TrialState.FINISHED, float(value), None


def storable_result(returned: Any) -> Any:
    """What the job keeps of its return value in the engine: numbers, or a dict of them."""
    if isinstance(returned, Mapping):
        return {str(k): as_number(v) for k, v in returned.items() if is_usable_metric(as_number(v))}
    value = as_number(returned)
    return value if is_usable_metric(value) else None
