"""W&B's ``early_terminate`` as an Optuna pruner that decides as W&B's scheduler does.

The rule is the one in W&B's open-source scheduler (``sweeps/hyperband_stopping.py``), which
``tests/engine/test_hyperband_oracle.py`` runs beside this one over generated learning curves:

- bands are numbers of metric rows: ``max_iter / eta**i`` (i = 1..s) or ``min_iter * eta**k``
  (:func:`~hydra_wandb_sweeper.searchspace.method.hyperband_bands`);
- the threshold at a band is ``sorted(values)[int(n / eta)]`` over the values every trial of the
  sweep (running, finished, stopped or failed) had at its ``band``-th report, so the best
  ``floor(n / eta) + 1`` go on;
- a running trial is judged at the latest band it reached, each time it reports: with
  ``strict`` (the default) on its value at that band, with ``strict: false`` on its best so far.

W&B's server also re-judges every running run on each agent heartbeat, between the run's
reports, so a run can be stopped at the band it is at when other runs raise that band's
threshold. Here a trial is judged when it reports, so each report also judges the trial as it
stood before it (its history without the new value), against the sweep as it is now: what a
heartbeat just before this report would have decided. Such a trial stops after the epoch it
was in, as a run W&B stops between two reports does (its agent stops it at its next check);
the new value is kept. Trials run one at a time get every decision W&B's scheduler makes (the
earlier state was judged the same way at the previous report); side by side, a heartbeat in
the middle of a report interval can still see a threshold that the next report has moved
again, so the two may still differ there (``bench/hyperband_agreement.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from hydra_wandb_sweeper.searchspace.method import hyperband_bands


class WandbHyperbandPruner(optuna.pruners.BasePruner):
    def __init__(self, bands: list[int], eta: float, strict: bool) -> None:
        self.bands = bands
        self.eta = eta
        self.strict = strict

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        sign = -1.0 if study.direction is StudyDirection.MAXIMIZE else 1.0
        history = _history(trial, sign)
        others = [
            _history(other, sign)
            for other in study.get_trials(deepcopy=False)
            if other.number != trial.number
        ]
        # the last heartbeat's view first: the trial without its new value, the sweep as now
        return (len(history) > 1 and self._stops(history[:-1], others)) or self._stops(
            history, others
        )

    def _stops(self, history: list[float], others: list[list[float]]) -> bool:
        """W&B's decision for a running trial with ``history`` among trials with ``others``."""
        reached = [band for band in self.bands if band <= len(history)]
        if not reached:
            return False
        band = reached[-1]
        at_band = sorted(h[band - 1] for h in [history, *others] if len(h) >= band)
        # W&B's arithmetic: r = 1.0 / eta, then int(r * n), float rounding included
        threshold = at_band[int(1.0 / self.eta * len(at_band))]
        value = history[band - 1] if self.strict else min(history)
        return value > threshold


def _history(trial: FrozenTrial, sign: float) -> list[float]:
    """The trial's reported values in order, lower is better; W&B skips values that are not
    finite numbers."""
    return [
        sign * value
        for _, value in sorted(trial.intermediate_values.items())
        if isinstance(value, (int, float)) and math.isfinite(value)
    ]


def build_pruner(early_terminate: Mapping[str, Any] | None) -> optuna.pruners.BasePruner:
    if not early_terminate:
        return optuna.pruners.NopPruner()
    eta = early_terminate.get("eta")
    strict = early_terminate.get("strict")
    return WandbHyperbandPruner(
        bands=hyperband_bands(early_terminate),
        eta=3 if eta is None else eta,
        strict=True if strict is None else bool(strict),  # W&B's default
    )
