"""The numpy GP (``bayes``'s default): its encoding, its fit, its search and its BLAS threads."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from scipy import optimize, stats
from threadpoolctl import threadpool_info, threadpool_limits

from hydra_wandb_sweeper.engine.local import numpy_gp
from hydra_wandb_sweeper.engine.local.numpy_gp import NumpyGPSampler, _Encoding

pytestmark = pytest.mark.oldest  # scipy 1.11 and numpy 1.26 too (.ci/run)

SPACE = {
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "dropout": FloatDistribution(0.0, 0.5, step=0.1),
    "layers": IntDistribution(1, 8),
    "width": IntDistribution(16, 512, log=True),
    "optimizer": CategoricalDistribution(["adam", "sgd", "rmsprop"]),
}


def test_every_kind_of_value_survives_encoding():
    encoding = _Encoding.of(SPACE)
    params = {"lr": 3e-4, "dropout": 0.3, "layers": 5, "width": 100, "optimizer": "sgd"}
    assert encoding.decode(encoding.encode(params)) == pytest.approx(params)
    drawn = encoding.random(np.random.default_rng(0), 500)
    for point in drawn:
        values = encoding.decode(point)
        assert all(
            SPACE[name]._contains(SPACE[name].to_internal_repr(v)) for name, v in values.items()
        )
    # discrete dimensions are drawn on their grids: all eight layer counts, none in between
    layers = encoding.names.index("layers")
    assert len(np.unique(drawn[:, layers])) == 8


def test_the_fit_gradient_is_the_loss_gradient():
    """The kernel parameters' gradient is written out by hand: checked against differences."""
    rng = np.random.default_rng(1)
    x = rng.random((12, 3))
    x[:, 2] = rng.integers(3, size=12)  # a categorical dimension
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2 + 0.1 * x[:, 2]
    y = (y - y.mean()) / y.std()
    categorical = np.array([False, False, True])
    captured = {}
    real_minimize = optimize.minimize

    def capture(loss, start, **kwargs):
        captured["loss"] = loss
        return real_minimize(loss, start, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numpy_gp.optimize, "minimize", capture)
        numpy_gp._fit(x, y, categorical, np.zeros(5))
    loss = captured["loss"]
    theta = np.array([0.3, -0.5, 0.2, 0.1, -2.0])
    _, gradient = loss(theta)
    numeric = optimize.approx_fprime(theta, lambda t: loss(t)[0], 1e-6)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-5)


def _quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -4, 4)
    k = trial.suggest_int("k", 0, 10)
    color = trial.suggest_categorical("color", ["red", "green", "blue"])
    return (x - 1.3) ** 2 + 0.3 * (k - 7) ** 2 + (0 if color == "green" else 2)


def test_it_finds_a_mixed_optimum_that_random_search_misses():
    def best(sampler: optuna.samplers.BaseSampler) -> float:
        study = optuna.create_study(sampler=sampler)
        study.optimize(_quadratic, n_trials=25)
        return study.best_value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    gp = [best(NumpyGPSampler(seed=seed)) for seed in range(3)]
    drawn = [best(optuna.samplers.RandomSampler(seed=seed)) for seed in range(3)]
    assert max(gp) < 0.3, gp  # optimum 0: x = 1.3, k = 7, green
    assert np.median(gp) < np.median(drawn), (gp, drawn)


def test_a_running_trial_is_not_proposed_again():
    """Parallel workers: a point still running counts at the model's prediction, so the next
    proposal goes elsewhere instead of to the same spot."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=NumpyGPSampler(seed=0))
    for x in (-3.0, -1.0, 0.5, 2.5, 3.5):
        study.enqueue_trial({"x": x})
        trial = study.ask()
        trial.suggest_float("x", -4, 4)
        study.tell(trial, (x - 1.3) ** 2)
    first = study.ask()
    first_x = first.suggest_float("x", -4, 4)  # left running
    second_x = study.ask().suggest_float("x", -4, 4)
    assert abs(first_x - second_x) > 1e-3, (first_x, second_x)


def test_an_integer_over_millions_of_values_needs_no_grid():
    """Stepped values are rounded by formula: a grid of every value of a wide integer, held
    against each of the 2,048 candidates, would not fit in memory."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=NumpyGPSampler(seed=0))

    def objective(trial: optuna.Trial) -> float:
        n = trial.suggest_int("n", 1, 50_000_000)
        m = trial.suggest_int("m", 1, 50_000_000, log=True)
        return (n / 5e7 - 0.3) ** 2 + (np.log(m) / 17.7 - 0.5) ** 2

    study.optimize(objective, n_trials=8)
    assert all(1 <= t.params["n"] <= 50_000_000 for t in study.trials)
    assert all(isinstance(t.params["m"], int) for t in study.trials)


def test_output_warping_keeps_the_order_and_tames_an_outlier():
    """One far better trial (a deep narrow optimum) would dominate a standardised fit; the
    power transform pulls it in without reordering anything."""
    scores = np.array([0.0, 0.1, 0.15, 0.2, 0.3, 0.35, 0.5, 9.0])
    warped = numpy_gp._yeo_johnson(numpy_gp._standardised(scores))
    assert np.array_equal(np.argsort(warped), np.argsort(scores))
    assert abs(stats.skew(warped)) < abs(stats.skew(scores)), warped

    def outlier_gap(values: np.ndarray) -> float:  # how far out, in the others' spread
        return float((values[-1] - values[-2]) / np.ptp(values[:-1]))

    assert outlier_gap(warped) < outlier_gap(scores) / 5, warped
    constant = np.full(5, 0.7)
    assert np.array_equal(numpy_gp._yeo_johnson(constant), constant)
    assert np.array_equal(numpy_gp._yeo_johnson(scores[:2]), scores[:2])  # too few to fit


def test_the_sampler_fits_warped_scores_only_when_asked():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = [
        optuna.trial.create_trial(
            params={"x": x},
            distributions={"x": FloatDistribution(-4, 4)},
            value=value,
        )
        for x, value in ((-3.0, 0.1), (-1.0, 0.2), (0.5, 0.3), (2.5, 0.4), (3.5, 50.0))
    ]
    encoding = _Encoding.of({"x": FloatDistribution(-4, 4)})
    direction = optuna.study.StudyDirection.MINIMIZE
    plain = NumpyGPSampler(seed=0, output_warping=False)._model(encoding, trials, direction)
    warped = NumpyGPSampler(seed=0)._model(encoding, trials, direction)
    assert np.array_equal(np.argsort(plain.y), np.argsort(warped.y))
    # the bad outlier sits about 2 standard deviations out, not 2 away from a huddle at 0.5
    assert np.ptp(warped.y[:4]) > 2 * np.ptp(plain.y[:4]), (plain.y, warped.y)


def _blas_threads() -> int:
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_blas_runs_on_one_thread_while_it_proposes_and_is_restored_after():
    """The GP's matrices are small: BLAS threads only spin (4-5x the CPU on a busy machine)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seen: list[int] = []

    def everything(trials, direction, rng):  # called in the middle of a proposal
        seen.append(_blas_threads())
        return trials

    with threadpool_limits(limits=2, user_api="blas"):
        study = optuna.create_study(sampler=NumpyGPSampler(seed=0, subset=everything))
        study.optimize(lambda t: (t.suggest_float("x", -4, 4) - 1.3) ** 2, n_trials=4)
        assert _blas_threads() == 2
    assert seen and set(seen) == {1}, seen
