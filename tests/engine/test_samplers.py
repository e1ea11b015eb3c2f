"""The bayes sampler's start-up design and the GP's bounded training subset."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection

from hydra_wandb_sweeper.engine.local.samplers import (
    BoundedGPSampler,
    SobolStartup,
    build_sampler,
    fitting_subset,
    from_unit,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def finished(values: list[float]) -> list[optuna.trial.FrozenTrial]:
    distribution = {"x": FloatDistribution(0.0, 1.0)}
    return [
        optuna.trial.create_trial(
            params={"x": i / len(values)}, distributions=distribution, value=v
        )
        for i, v in enumerate(values)
    ]


@pytest.mark.parametrize("direction", [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE])
def test_the_subset_keeps_the_best_half_and_draws_the_rest(direction):
    rng = np.random.default_rng(0)
    trials = finished([float(v) for v in rng.permutation(1000)])
    subset = fitting_subset(trials, direction, 100, np.random.default_rng(1))
    values = sorted(float(t.value) for t in subset)
    assert len(subset) == 100 and len({id(t) for t in subset}) == 100
    best = values[:50] if direction is StudyDirection.MINIMIZE else values[50:]
    expected = list(range(50)) if direction is StudyDirection.MINIMIZE else list(range(950, 1000))
    assert best == expected
    assert [t.params["x"] for t in subset] == sorted(t.params["x"] for t in subset)  # in order


def test_a_small_history_is_used_whole():
    trials = finished([3.0, 1.0, 2.0])
    assert fitting_subset(trials, StudyDirection.MINIMIZE, 100, np.random.default_rng()) == trials


def test_the_gp_is_fitted_on_the_subset_only():
    seen = []

    sampler = BoundedGPSampler(seed=0, n_startup_trials=0, max_trials=20)
    parent = optuna.samplers.GPSampler._sample_relative_impl

    def spy(self, study, completed, running, space):
        seen.append(len(completed))
        return parent(self, study, completed, running, space)

    optuna.samplers.GPSampler._sample_relative_impl = spy
    try:
        study = optuna.create_study(sampler=sampler)
        study.add_trials(finished([float(v) for v in range(60)]))
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    finally:
        optuna.samplers.GPSampler._sample_relative_impl = parent
    assert seen == [20, 20]


def test_the_start_up_trials_are_a_sobol_design_then_the_model_takes_over():
    sampler = build_sampler("bayes", 3, ("gp", 4))
    assert isinstance(sampler, SobolStartup)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0.0, 1.0) - 0.3) ** 2, n_trials=6)
    xs = [t.params["x"] for t in study.trials]
    # the first four split [0, 1] into quarters, one point each (a base-2 Sobol property)
    assert sorted(int(x * 4) for x in xs[:4]) == [0, 1, 2, 3]
    again = optuna.create_study(sampler=build_sampler("bayes", 3, ("gp", 4)))
    again.optimize(lambda t: (t.suggest_float("x", 0.0, 1.0) - 0.3) ** 2, n_trials=4)
    assert [t.params["x"] for t in again.trials] == xs[:4]  # the seed fixes the design


def test_unit_values_map_onto_every_distribution():
    assert from_unit(0.0, FloatDistribution(1e-4, 1e-1, log=True)) == pytest.approx(1e-4)
    assert from_unit(0.5, FloatDistribution(1e-4, 1e-2, log=True)) == pytest.approx(1e-3)
    assert from_unit(0.999, FloatDistribution(0.0, 1.0, step=0.25)) == 1.0
    assert [from_unit(u, IntDistribution(1, 4)) for u in (0.0, 0.3, 0.6, 0.99)] == [1, 2, 3, 4]
    assert from_unit(0.99, IntDistribution(1, 1000, log=True)) <= 1000
    assert from_unit(0.5, CategoricalDistribution(["a", "b", "c"])) == "b"
    assert math.isclose(from_unit(0.25, FloatDistribution(-1.0, 1.0)), -0.5)
