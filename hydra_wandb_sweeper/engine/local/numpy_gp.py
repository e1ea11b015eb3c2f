"""The Gaussian-process sampler behind ``bayes``: Optuna's GP model on numpy and scipy.

Optuna's GPSampler runs on torch, which the plugin leaves to the optional ``gp`` extra (with
its CUDA libraries pip's default torch is about 3 GB; ``bayes_sampler: gp_torch`` runs it).
This sampler fits the same model with scipy, level with it in search quality at 2-5x less CPU
and without torch's import in every new process (``bench/search_suite.py``,
``bench/suggestion_cost.py``):

- the kernel is Optuna's: Matern 5/2 with one length scale per parameter, the Hamming distance
  for categorical ones, inputs scaled to [0, 1] (log parameters in log space);
- its parameters are fitted as Optuna fits them (the same priors, the marginal likelihood
  maximised by L-BFGS-B, here with its gradient written out instead of autograd), on the
  scores after a Yeo-Johnson power transform (HEBO's output warping; on the suite it was ahead of
  the plain standardised scores on 13 of 18 task-budget cells by win share, behind on 4);
- the acquisition is Optuna's log expected improvement, searched from random points and then
  by L-BFGS-B from the best few; integer and stepped parameters are rounded to a value they can
  take and categorical ones tried value by value;
- trials still running count at the model's own prediction ("kriging believer"), so that
  parallel workers do not all propose the same point.

``bench/search_suite.py`` names it "ours gp-numpy sobol5 warp".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState
from scipy import linalg, optimize, special, stats
from threadpoolctl import threadpool_limits

from hydra_wandb_sweeper.engine.local.optuna_private import trials_cached

# Optuna's floor under the fitted noise variance (optuna._gp.prior.DEFAULT_MINIMUM_NOISE_VAR).
MINIMUM_NOISE = 1e-6
# Random points the acquisition is evaluated at before the local searches.
CANDIDATES = 2048
_SQRT_HALF = math.sqrt(0.5)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class _Encoding:
    """How a search space maps to the unit cube the GP works in."""

    names: tuple[str, ...]
    distributions: tuple[BaseDistribution, ...]
    categorical: np.ndarray  # bool per dimension: its value is the choice's index

    @classmethod
    def of(cls, search_space: dict[str, BaseDistribution]) -> _Encoding:
        names = tuple(sorted(search_space))
        distributions = tuple(search_space[name] for name in names)
        return cls(
            names,
            distributions,
            np.array([isinstance(d, CategoricalDistribution) for d in distributions]),
        )

    def encode(self, params: dict[str, Any]) -> np.ndarray:
        return np.array(
            [_to_unit(d, params[n]) for n, d in zip(self.names, self.distributions, strict=True)]
        )

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        return {
            n: _from_unit(d, float(v))
            for n, d, v in zip(self.names, self.distributions, x, strict=True)
        }

    def snap(self, x: np.ndarray) -> np.ndarray:
        """``x`` with every integer or stepped dimension on the nearest value it can take."""
        snapped = x.copy()
        for i, d in enumerate(self.distributions):
            if isinstance(d, IntDistribution) or (
                isinstance(d, FloatDistribution) and d.step is not None
            ):
                snapped[..., i] = _snapped(d, x[..., i])
        return snapped

    def random(self, rng: np.random.Generator, size: int) -> np.ndarray:
        x = rng.random((size, len(self.names)))
        for i, distribution in enumerate(self.distributions):
            if isinstance(distribution, CategoricalDistribution):
                x[:, i] = rng.integers(len(distribution.choices), size=size)
        return self.snap(x)


def _bounds(d: FloatDistribution | IntDistribution) -> tuple[float, float]:
    """The range the unit interval spans: an integer's values each own a cell of it."""
    low, high = float(d.low), float(d.high)
    if isinstance(d, IntDistribution):
        half = 0.5 if d.log else 0.5 * d.step
        low, high = low - half, high + half
    return (math.log(low), math.log(high)) if d.log else (low, high)


def _to_unit(d: BaseDistribution, value: Any) -> float:
    if isinstance(d, CategoricalDistribution):
        return float(d.to_internal_repr(value))
    assert isinstance(d, (FloatDistribution, IntDistribution))
    low, high = _bounds(d)
    x = math.log(value) if d.log else float(value)
    return 0.5 if high == low else (x - low) / (high - low)


def _from_unit(d: BaseDistribution, u: float) -> Any:
    if isinstance(d, CategoricalDistribution):
        return d.to_external_repr(round(u))
    assert isinstance(d, (FloatDistribution, IntDistribution))
    low, high = _bounds(d)
    x = low + min(max(u, 0.0), 1.0) * (high - low)
    value = math.exp(x) if d.log else x
    if isinstance(d, IntDistribution):
        step = 1 if d.log else d.step
        whole = d.low + round((value - d.low) / step) * step
        return int(min(max(whole, d.low), d.high))
    if d.step is not None:
        value = d.low + round((value - d.low) / d.step) * d.step
    return float(min(max(value, d.low), d.high))


def _snapped(d: FloatDistribution | IntDistribution, u: np.ndarray) -> np.ndarray:
    """Unit values moved to the nearest value of a stepped distribution (no grid is built:
    an integer may range over millions)."""
    low, high = _bounds(d)
    x = low + np.clip(u, 0.0, 1.0) * (high - low)
    value = np.exp(x) if d.log else x
    step = 1 if d.log or d.step is None else d.step
    value = np.clip(d.low + np.round((value - d.low) / step) * step, d.low, d.high)
    x = np.log(value) if d.log else value
    return (x - low) / (high - low) if high > low else np.full_like(u, 0.5)


def _squared_differences(a: np.ndarray, b: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    sqd = (a[..., :, None, :] - b[..., None, :, :]) ** 2
    sqd[..., categorical] = sqd[..., categorical] > 0
    return sqd


def _matern52(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Matern 5/2 kernel of the squared distance, and its derivative in it."""
    root = np.sqrt(5 * r2)
    decay = np.exp(-root)
    return decay * ((5 / 3) * r2 + root + 1), (-5 / 6) * (root + 1) * decay


def _log_ei(z: np.ndarray) -> np.ndarray:
    """log E[max(0, N(z, 1))], stable far below the incumbent (Optuna's standard_logei)."""
    out = np.empty_like(z)
    small = z < -25
    big = ~small
    zb = z[big]
    out[big] = np.log(
        0.5 * zb * special.erfc(-_SQRT_HALF * zb) + np.exp(-0.5 * zb * zb) / math.sqrt(2 * math.pi)
    )
    zs = z[small]
    out[small] = (
        -0.5 * zs**2
        - _LOG_SQRT_2PI
        + np.log1p(_SQRT_HALF_PI * zs * special.erfcx(-_SQRT_HALF * zs))
    )
    return out


class _Model:
    """The fitted GP: kernel parameters and the factorised training covariance."""

    def __init__(self, x: np.ndarray, y: np.ndarray, categorical: np.ndarray, theta: np.ndarray):
        self.x, self.y, self.categorical, self.theta = x, y, categorical, theta
        dims = x.shape[1]
        self.lengths = np.exp(theta[:dims])  # inverse squared length scales
        self.scale = math.exp(theta[dims])
        self.noise = math.exp(theta[dims + 1]) + MINIMUM_NOISE
        kernel, _ = _matern52(_squared_differences(x, x, categorical) @ self.lengths)
        covariance = self.scale * kernel + self.noise * np.eye(len(x))
        self.factor = linalg.cho_factor(covariance, lower=True)
        self.alpha = linalg.cho_solve(self.factor, y)

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of f at ``points`` (m, d)."""
        sqd = _squared_differences(points, self.x, self.categorical)
        cross = self.scale * _matern52(sqd @ self.lengths)[0]
        mean = cross @ self.alpha
        solved = linalg.cho_solve(self.factor, cross.T)
        variance = self.scale - np.einsum("ij,ji->i", cross, solved)
        return mean, np.maximum(variance, 1e-12)

    def with_believed(self, points: np.ndarray) -> _Model:
        """The model with ``points`` observed at its own prediction (running trials)."""
        if not len(points):
            return self
        mean, _ = self.predict(points)
        return _Model(
            np.vstack([self.x, points]),
            np.concatenate([self.y, mean]),
            self.categorical,
            self.theta,
        )


def _fit(x: np.ndarray, y: np.ndarray, categorical: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Kernel parameters (log inverse squared length scales, log scale, log noise above the
    floor) at the maximum of the marginal likelihood times Optuna's priors."""
    n, dims = x.shape
    sqd = _squared_differences(x, x, categorical)
    eye = np.eye(n)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        lengths = np.exp(theta[:dims])
        scale, raw_noise = math.exp(theta[dims]), math.exp(theta[dims + 1])
        noise = raw_noise + MINIMUM_NOISE
        kernel, slope = _matern52(sqd @ lengths)
        try:
            factor = linalg.cho_factor(scale * kernel + noise * eye, lower=True)
        except linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = linalg.cho_solve(factor, y)
        log_likelihood = -0.5 * y @ alpha - np.log(np.diag(factor[0])).sum()
        log_prior = (
            -(0.1 / lengths + 0.1 * lengths).sum()
            + (math.log(scale) - scale)  # gamma(2, 1)
            + (0.1 * math.log(noise) - 30 * noise)  # gamma(1.1, 30)
        )
        weights = np.outer(alpha, alpha) - linalg.cho_solve(factor, eye)
        d_lengths = 0.5 * np.einsum("ij,ijd->d", weights * scale * slope, sqd)
        d_lengths += 0.1 / lengths**2 - 0.1
        d_scale = 0.5 * (weights * kernel).sum() + 1 / scale - 1
        d_noise = 0.5 * np.trace(weights) + 0.1 / noise - 30
        gradient = np.concatenate([d_lengths * lengths, [d_scale * scale, d_noise * raw_noise]])
        return -(log_likelihood + log_prior), -gradient

    best = None
    for initial in (start, np.zeros(dims + 2)):
        result = optimize.minimize(
            loss, initial, jac=True, method="L-BFGS-B", options={"gtol": 1e-2}
        )
        if best is None or result.fun < best.fun:
            best = result
        if result.success:
            break
    assert best is not None
    return np.asarray(best.x)


class NumpyGPSampler(optuna.samplers.BaseSampler):
    """Optuna's GP model and log expected improvement, on numpy and scipy (see the module)."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        local_searches: int = 3,
        # the finished trials the model is fitted on (None: all of them), from all of them,
        # the study's direction and this sampler's random generator
        subset: Callable[
            [list[FrozenTrial], StudyDirection, np.random.Generator], list[FrozenTrial]
        ]
        | None = None,
        # fit the GP on the scores after a Yeo-Johnson power transform (HEBO's output
        # warping): a few far better or far worse trials then weigh less against the rest
        output_warping: bool = True,
    ) -> None:
        self._rng = np.random.default_rng(seed)
        self._output_warping = output_warping
        self._independent = optuna.samplers.RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace()
        self._local_searches = local_searches
        self._subset = subset
        self._theta: dict[tuple[str, ...], np.ndarray] = {}  # the last fit, to start from

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._independent.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {
            name: distribution
            for name, distribution in self._intersection.calculate(study).items()
            if not distribution.single()
        }

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        # The matrices are at most 100 x 100: BLAS threads cost more than they save, and on a
        # busy machine their spinning costs far more (measured at 100 trials on 2 loaded
        # cores: 0.33 s of CPU per suggestion with OpenBLAS's threads, 0.07 s with one).
        # Restored afterwards, since a task running in this process may want them.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._sample(study, trial, search_space)

    def _sample(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        encoding = _Encoding.of(search_space)
        trials = trials_cached(study, (TrialState.COMPLETE,))
        finished = [t for t in trials if all(n in t.params for n in encoding.names)]
        if not finished:
            return {}
        if self._subset is not None:
            finished = self._subset(finished, study.direction, self._rng)
        model = self._model(encoding, finished, study.direction)
        running = trials_cached(study, (TrialState.RUNNING,))
        believed = [
            encoding.encode(t.params)
            for t in running
            if t.number != trial.number and all(n in t.params for n in encoding.names)
        ]
        best = int(np.argmax(model.y))  # of what was observed, not what is believed
        incumbent = (model.x[best], float(model.y[best]))
        model = model.with_believed(np.array(believed).reshape(-1, len(encoding.names)))
        return encoding.decode(
            _best_point(model, encoding, incumbent, self._rng, self._local_searches)
        )

    def _model(
        self, encoding: _Encoding, trials: Sequence[FrozenTrial], direction: StudyDirection
    ) -> _Model:
        x = np.array([encoding.encode(t.params) for t in trials])
        scores = np.array([float(t.value) for t in trials])  # type: ignore[arg-type]
        if direction is StudyDirection.MINIMIZE:
            scores = -scores  # the GP maximises
        finite = np.isfinite(scores)
        if not finite.all():
            low, high = (scores[finite].min(), scores[finite].max()) if finite.any() else (0, 0)
            scores = np.clip(np.nan_to_num(scores, nan=low), low, high)
        y = _standardised(scores)
        if self._output_warping:
            y = _standardised(_yeo_johnson(y))
        start = self._theta.get(encoding.names, np.zeros(len(encoding.names) + 2))
        theta = _fit(x, y, encoding.categorical, start)
        self._theta[encoding.names] = theta
        return _Model(x, y, encoding.categorical, theta)


def _standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / max(1e-10, float(values.std()))


def _yeo_johnson(values: np.ndarray) -> np.ndarray:
    """``values`` power-transformed towards a normal shape (order kept); unchanged where the
    transform cannot be fitted."""
    if len(values) < 3 or float(np.ptp(values)) == 0:
        return values
    with np.errstate(all="ignore"):
        try:
            transformed, _ = stats.yeojohnson(values)
        except (ValueError, FloatingPointError):
            return values
    return transformed if np.all(np.isfinite(transformed)) else values


def _best_point(
    model: _Model,
    encoding: _Encoding,
    incumbent: tuple[np.ndarray, float],
    rng: np.random.Generator,
    local_searches: int,
) -> np.ndarray:
    """Where the log expected improvement over the best trial (``incumbent``: where, and its
    standardised score) is highest, as far as found."""
    best_x, best_y = incumbent

    def acquisition(points: np.ndarray) -> np.ndarray:
        mean, variance = model.predict(points)
        sigma = np.sqrt(variance)
        return _log_ei((mean - best_y) / sigma) + np.log(sigma)

    candidates = encoding.random(rng, CANDIDATES)
    values = acquisition(candidates)
    starts = [candidates[i] for i in np.argsort(values)[::-1][:local_searches]]
    starts.append(best_x)  # around the best trial
    found, found_value = candidates[int(np.argmax(values))], float(values.max())
    for start in starts:
        x = _local_search(acquisition, encoding, start)
        value = float(acquisition(x[None])[0])
        if value > found_value:
            found, found_value = x, value
    return found


def _local_search(
    acquisition: Callable[[np.ndarray], np.ndarray], encoding: _Encoding, start: np.ndarray
) -> np.ndarray:
    """L-BFGS-B over the non-categorical dimensions (then rounded where they are stepped),
    then each categorical dimension's values tried in turn."""
    x = start.copy()
    free = np.flatnonzero(~encoding.categorical)
    if len(free):

        def negative(z: np.ndarray) -> float:
            point = x.copy()
            point[free] = z
            return -float(acquisition(point[None])[0])

        result = optimize.minimize(
            negative,
            x[free],
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * len(free),
            options={"maxiter": 100},
        )
        x[free] = result.x
        x = encoding.snap(x)
    for i in np.flatnonzero(encoding.categorical):
        choices = encoding.distributions[i]
        assert isinstance(choices, CategoricalDistribution)
        trials = np.repeat(x[None], len(choices.choices), axis=0)
        trials[:, i] = np.arange(len(choices.choices))
        x = trials[int(np.argmax(acquisition(trials)))]
    return x
