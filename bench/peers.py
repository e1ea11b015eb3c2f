"""The methods the search-quality suite compares: ours through the embedded engine exactly as
the sweeper drives it, and the peers as their own projects ship them.

- ours: ``LocalEngine.create`` from the translated search space, then ``ask``/``tell`` (only
  the Hydra job around each trial is left out), in a journal file as the sweeper keeps it;
- W&B: the ``sweeps`` package, W&B's own engine, in its own virtual environment
  (``wandb_engine.py``);
- Optuna: ``GPSampler(seed=seed)`` and ``TPESampler(seed=seed)`` with their shipped defaults
  (the TPE is what hydra-optuna-sweeper builds by default);
- HEBO: ``HEBO(space, scramble_seed=seed)`` in its own virtual environment (``hebo_engine.py``).

Every method is a function ``run(task, seed, n) -> the n losses in trial order``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
from tuning_tasks import Task

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialState
from hydra_wandb_sweeper.engine.local import engine as engine_module
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from hydra_wandb_sweeper.searchspace.space import build_search_space

Run = Callable[[Task, int, int], list[float]]
SamplerFactory = Callable[[str, int | None, tuple[str, int]], optuna.samplers.BaseSampler]
# tmpfs when there is one: the journal's fsync is the sweeper's cost, not the sampler's
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None


def definition(method: str, parameters: dict[str, Any]) -> SweepDefinition:
    space = build_search_space(parameters, [])
    return SweepDefinition(
        method=method,
        metric_name="loss",
        goal="minimize",
        target=None,
        parameters=tuple((p.key, p.wandb_name, dict(p.spec)) for p in space.parameters),
    )


@contextmanager
def sampler_factory(factory: SamplerFactory | None) -> Iterator[None]:
    """Swap the engine's sampler construction (for the variants measured before adopting)."""
    if factory is None:
        yield
        return
    original = engine_module.build_sampler
    engine_module.build_sampler = factory  # type: ignore[assignment]
    try:
        yield
    finally:
        engine_module.build_sampler = original


def model_factory(make_model: Callable[[int | None], Any]) -> SamplerFactory:
    """The default bayes with ``make_model(seed)`` as its model after the Sobol start-up (the
    variants measured before adopting one)."""
    from hydra_wandb_sweeper.engine.local import samplers

    def build(
        method: str, seed: int | None, bayes: tuple[str, int], *, conditional: bool = False
    ) -> Any:
        if method != "bayes":
            return samplers.build_sampler(method, seed, bayes, conditional=conditional)
        return samplers.SobolStartup(make_model(seed), bayes[1], seed)

    return build


def numpy_gp_factory(
    local_searches: int | None = None, output_warping: bool = True
) -> SamplerFactory:
    """The default GP with another number of local searches of its acquisition, or without
    the power transform of its scores."""
    from hydra_wandb_sweeper.engine.local import samplers

    return model_factory(
        lambda seed: samplers.numpy_gp(
            seed, local_searches or samplers.GP_LOCAL_SEARCHES, output_warping=output_warping
        )
    )


def ours(
    method: str = "bayes",
    bayes: tuple[str, int] | None = None,
    factory: SamplerFactory | None = None,
) -> Run:
    """Our engine; ``bayes`` None: the sweeper's default bayes settings."""

    def run(task: Task, seed: int, n: int) -> list[float]:
        values = []
        with tempfile.TemporaryDirectory(dir=_SCRATCH) as tmp, sampler_factory(factory):
            options: dict[str, Any] = {"seed": seed}
            if bayes is not None:
                options["bayes"] = bayes
            engine = LocalEngine.create(
                str(Path(tmp) / "journal.log"), definition(method, task.parameters), **options
            )
            try:
                for _ in range(n):
                    trial = engine.ask()
                    assert trial is not None
                    value = task.objective(trial.params)
                    engine.tell(trial, TrialState.FINISHED, value, None)
                    values.append(value)
            finally:
                engine.close()
        return values

    return run


def wandb(method: str, engine: Any) -> Run:
    def run(task: Task, seed: int, n: int) -> list[float]:
        config = {"method": method, "metric": {"name": "loss", "goal": "minimize"}}
        config["parameters"] = task.parameters
        runs: list[tuple[dict[str, Any], float]] = []
        for step in range(n):
            params, _ = engine.suggest(config, runs, seed * 1000 + step)
            runs.append((params, task.objective(params)))
        return [value for _, value in runs]

    return run


def optuna_params(trial: optuna.Trial, parameters: dict[str, Any]) -> dict[str, Any]:
    """The task's W&B parameters as the Optuna user would write them by hand."""
    params: dict[str, Any] = {}
    for key, spec in parameters.items():
        kind = spec.get("distribution")
        if "values" in spec:
            params[key] = trial.suggest_categorical(key, spec["values"])
        elif kind == "q_log_uniform_values":
            params[key] = trial.suggest_int(key, spec["min"], spec["max"], log=True)
        elif isinstance(spec["min"], int) and isinstance(spec["max"], int):
            params[key] = trial.suggest_int(key, spec["min"], spec["max"])
        else:
            log = kind == "log_uniform_values"
            params[key] = trial.suggest_float(key, spec["min"], spec["max"], log=log)
    return params


def optuna_study(make: Callable[[int], optuna.samplers.BaseSampler]) -> Run:
    def run(task: Task, seed: int, n: int) -> list[float]:
        study = optuna.create_study(sampler=make(seed))
        values = []
        for _ in range(n):
            trial = study.ask()
            value = task.objective(optuna_params(trial, task.parameters))
            study.tell(trial, value)
            values.append(value)
        return values

    return run


def optuna_gp() -> Run:
    return optuna_study(lambda seed: optuna.samplers.GPSampler(seed=seed))


def optuna_tpe() -> Run:
    return optuna_study(lambda seed: optuna.samplers.TPESampler(seed=seed))


def hebo(engine: Any) -> Run:
    def run(task: Task, seed: int, n: int) -> list[float]:
        engine.start(task.parameters, seed)
        values = []
        for _ in range(n):
            params = engine.suggest()
            value = task.objective(params)
            engine.observe(params, value)
            values.append(value)
        return values

    return run
