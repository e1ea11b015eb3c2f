"""W&B's ``early_terminate`` mapped to an Optuna pruner.

W&B's hyperband stops a running run at each bracket ``min_iter * eta**k`` (counted in
logged metric rows) unless it is in the top ``1/eta`` of the runs that reached that bracket.
That is one successive-halving bracket, which is what this maps to: Optuna's
``SuccessiveHalvingPruner(min_resource=min_iter, reduction_factor=eta,
min_early_stopping_rate=0)``. Optuna's ``HyperbandPruner`` would spread trials over several
brackets with later first rungs, which stops far fewer trials than a W&B user expects.

Where this differs from W&B's own engine (the open-source ``sweeps`` package), and why:

- W&B compares a run's value at history index ``band`` (after ``band + 1`` rows); here the
  bracket is reached after ``band`` reports, as W&B's documentation describes it.
- W&B lets through the runs at or better than the value at rank ``floor(n / eta)``, that
  is the best ``floor(n / eta) + 1`` of ``n``; successive halving lets through the best
  ``max(1, floor(n / eta))``, which stops one run more at small ``n``.
- In the ``max_iter`` + ``s`` form W&B checks only the ``s`` brackets
  ``max_iter / eta**s ... max_iter / eta``; here brackets go on doubling (times ``eta``)
  from the first one, which matters only for runs longer than ``max_iter``.
- ``strict`` is accepted and, as in W&B's engine, changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import optuna


def min_iter_of(early_terminate: Mapping[str, Any]) -> int:
    """The first bracket: ``min_iter``, or ``max_iter / eta**s`` in the (max_iter, s) form."""
    if early_terminate.get("min_iter") is not None:
        return int(early_terminate["min_iter"])
    eta = float(early_terminate.get("eta", 3))
    return max(1, math.floor(float(early_terminate["max_iter"]) / eta ** int(early_terminate["s"])))


def build_pruner(early_terminate: Mapping[str, Any] | None) -> optuna.pruners.BasePruner:
    if not early_terminate:
        return optuna.pruners.NopPruner()
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=min_iter_of(early_terminate),
        reduction_factor=int(early_terminate.get("eta", 3)),
        min_early_stopping_rate=0,
    )
