"""The Optuna samplers behind W&B's methods on the embedded engine.

``bayes`` is a model sampler (a GP by default, or TPE) that starts from a scrambled Sobol
design instead of random trials: in the 10-20 trials most sweeps run, evenly spread start-up
points leave the model fewer holes to fill (``bench/search_suite.py`` measures it). The GP is
fitted on a bounded subset of the finished trials, so that a suggestion costs the same at 1000
trials as at 100 instead of growing with the cube of the sweep's size
(``bench/suggestion_cost.py``).

The default GP (``gp``) is Optuna's GP model run on numpy and scipy (``numpy_gp.py``). Optuna's
own GPSampler (``gp_torch``) fits the same model on torch: on the search suite the two are
level in quality, and the numpy one costs 2-5x less CPU per sweep, stays below W&B's engine
per suggestion where the torch one did not, and spares each new process the 1.2-2.5 s of
importing torch. torch stays the optional ``gp`` extra (with its CUDA libraries, pip's default
torch is about 3 GB, the rest of the plugin about 85 MB).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from hydra_wandb_sweeper.engine.local.optuna_private import GP_LOCAL_SEARCH_ATTR, trials_cached

# The GP sees at most this many finished trials: half of them the best so far (where the
# optimum is), the rest spread over the whole history (so that the model still knows the
# bad regions). Measured at 1000 trials of a 5-D mixed space, CPU s per suggestion: 0.07
# with 100, 0.09 with 150, 0.12 with 200; W&B's engine 0.13-0.2 (it fits on 100 runs).
GP_MAX_TRIALS = 100
# Local searches of the acquisition function per suggestion (Optuna's default: 10). They are
# most of a suggestion's CPU time: with 3, a suggestion cost 0.44-0.74x of W&B's engine's at
# 10, 100 and 1000 trials (bench/suggestion_cost.py), with 10 up to 1.9x; the search quality
# of 3 and 10 is compared by bench/search_suite.py ("ours gp sobol5 ls3" / "ours gp sobol5").
GP_LOCAL_SEARCHES = 3
# Dimensions of the Sobol design; parameters beyond it are drawn uniformly at random.
_SOBOL_DIMENSIONS = 32


# greenlet is not a dependency: with it, Optuna's GP runs its searches batched, but a sweeper
# with threads alive at exit (the SLURM batch's waiters) then aborted at interpreter shutdown
# ("terminate called without an active exception", about 1 run in 4). Without it, Optuna says
# once per process that it optimizes sequentially: not a line for the user.
logging.getLogger("optuna._gp.batched_lbfgsb").setLevel(logging.ERROR)

# the values of hydra.sweeper.bayes_sampler
GP, GP_TORCH, TPE = "gp", "gp_torch", "tpe"


def build_sampler(
    method: str, seed: int | None, bayes: tuple[str, int], *, conditional: bool = False
) -> optuna.samplers.BaseSampler:
    """The sampler for ``method``: grid points come from grid.py, random samples independently.

    In a conditional space TPE models each group of parameters that appear together on its
    own (``group=True``); the GP sees every parameter, drawn where inactive (conditional.py)."""
    if method != "bayes":
        return optuna.samplers.RandomSampler(seed=seed)
    kind, startup_trials = bayes
    model: optuna.samplers.BaseSampler
    if kind == TPE:
        # the model's own start-up is the Sobol design below
        with warnings.catch_warnings():  # group is "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            model = optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=0,
                constant_liar=True,
                multivariate=conditional,
                group=conditional,
            )
    elif kind == GP_TORCH:
        model = BoundedGPSampler(
            seed=seed,
            n_startup_trials=0,
            warn_independent_sampling=False,
            local_searches=GP_LOCAL_SEARCHES,
        )
    else:
        model = numpy_gp(seed)
    return SobolStartup(model, startup_trials, seed)


def numpy_gp(
    seed: int | None, local_searches: int = GP_LOCAL_SEARCHES, output_warping: bool = True
) -> optuna.samplers.BaseSampler:
    """The default GP of ``bayes``: Optuna's model on numpy and scipy, fitted on the same
    bounded subset of trials as ``gp_torch``."""
    from hydra_wandb_sweeper.engine.local.numpy_gp import NumpyGPSampler

    return NumpyGPSampler(
        seed=seed,
        local_searches=local_searches,
        output_warping=output_warping,
        subset=lambda trials, direction, rng: fitting_subset(trials, direction, GP_MAX_TRIALS, rng),
    )


class BoundedGPSampler(optuna.samplers.GPSampler):
    """Optuna's GPSampler fitted on at most :data:`GP_MAX_TRIALS` finished trials."""

    def __init__(
        self,
        *,
        max_trials: int = GP_MAX_TRIALS,
        local_searches: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._max_trials = max_trials
        if local_searches is not None:
            # the acquisition's local searches are most of a suggestion's CPU time
            setattr(self, GP_LOCAL_SEARCH_ATTR, local_searches)
        self._subset_rng = np.random.default_rng(kwargs.get("seed"))

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        with _single_torch_thread():
            return super().sample_relative(study, trial, search_space)

    def _sample_relative_impl(
        self,
        study: Study,
        completed_trials: list[FrozenTrial],
        running_trials: list[FrozenTrial],
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        subset = fitting_subset(
            completed_trials, study.direction, self._max_trials, self._subset_rng
        )
        return super()._sample_relative_impl(study, subset, running_trials, search_space)


@contextmanager
def _single_torch_thread() -> Iterator[None]:
    """The GP's matrices are small: torch's thread pool costs more CPU than it saves
    (measured: 1.08 s of CPU per suggestion at 100 trials on two cores, 0.08 s with one
    thread). Restored afterwards, since a task running in this process may want more."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fitting_subset(
    trials: Sequence[FrozenTrial],
    direction: StudyDirection,
    max_trials: int,
    rng: np.random.Generator,
) -> list[FrozenTrial]:
    """At most ``max_trials`` trials: the best half, then a uniform draw from the rest.

    Keeping the best trials keeps the incumbent and its neighbourhood, which expected
    improvement works from; the uniform rest keeps the model's picture of the whole space.
    """
    if len(trials) <= max_trials:
        return list(trials)
    sign = -1.0 if direction is StudyDirection.MAXIMIZE else 1.0
    order = sorted(range(len(trials)), key=lambda i: sign * float(trials[i].value))  # type: ignore[arg-type]
    n_best = max_trials // 2
    rest = np.asarray(order[n_best:])
    drawn = rng.choice(rest, size=max_trials - n_best, replace=False)
    chosen = sorted([*order[:n_best], *drawn.tolist()])
    return [trials[i] for i in chosen]


class SobolStartup(optuna.samplers.BaseSampler):
    """A scrambled Sobol design until ``n_startup`` trials have finished, then ``model``.

    Trial ``n`` takes point ``n`` of the sequence, so trials proposed by several processes of
    one sweep (each with the same seed) still cover the space evenly.
    """

    def __init__(self, model: optuna.samplers.BaseSampler, n_startup: int, seed: int | None):
        self._model = model
        self._n_startup = n_startup
        # one scramble for the whole design, also when the sequence is extended
        self._sobol_seed = (
            seed if seed is not None else int(cast(int, np.random.SeedSequence().entropy) % 2**32)
        )
        self._rng = np.random.default_rng(seed)
        self._points = np.empty((0, _SOBOL_DIMENSIONS))
        self._dimension_of: dict[str, int] = {}
        self._past_startup = False

    def _in_startup(self, study: Study) -> bool:
        if not self._past_startup:
            finished = trials_cached(study, (TrialState.COMPLETE,))
            # once past, always past: the number of finished trials never goes down
            self._past_startup = len(finished) >= self._n_startup
        return not self._past_startup

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._in_startup(study):
            return {}
        return self._model.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        return self._model.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if not self._past_startup:
            return from_unit(self._unit(trial.number, param_name), param_distribution)
        return self._model.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._model.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._model.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._model.reseed_rng()

    def _unit(self, index: int, param_name: str) -> float:
        dimension = self._dimension_of.setdefault(param_name, len(self._dimension_of))
        if dimension >= _SOBOL_DIMENSIONS:
            return float(self._rng.random())
        if index >= len(self._points):
            from scipy.stats import qmc

            size = 1 << max(4, math.ceil(math.log2(index + 1)))
            sobol = qmc.Sobol(_SOBOL_DIMENSIONS, scramble=True, seed=self._sobol_seed)
            self._points = sobol.random_base2(int(math.log2(size)))
        return float(self._points[index, dimension])


def from_unit(u: float, distribution: BaseDistribution) -> Any:
    """The value of ``distribution`` at quantile-like position ``u`` in [0, 1)."""
    if isinstance(distribution, CategoricalDistribution):
        choices = distribution.choices
        return choices[min(int(u * len(choices)), len(choices) - 1)]
    value: float
    if isinstance(distribution, IntDistribution):
        if distribution.log:
            low, high = math.log(distribution.low - 0.5), math.log(distribution.high + 0.5)
            value = round(math.exp(low + u * (high - low)))
        else:
            steps = (distribution.high - distribution.low) // distribution.step + 1
            value = distribution.low + min(int(u * steps), steps - 1) * distribution.step
        return int(min(max(value, distribution.low), distribution.high))
    if isinstance(distribution, FloatDistribution):
        low, high = distribution.low, distribution.high
        if distribution.log:
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        elif distribution.step is not None:
            steps = round((high - low) / distribution.step) + 1
            value = low + min(int(u * steps), steps - 1) * distribution.step
        else:
            value = low + u * (high - low)
        return float(min(max(value, low), high))
    raise ValueError(f"no Sobol mapping for {distribution!r}")
