"""Every W&B distribution, sampled through a real Optuna study, then sent to Hydra and back."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_dir

from hydra_wandb_sweeper.engine.local.grid import Grid
from hydra_wandb_sweeper.engine.local.sampling import quantize, suggest
from hydra_wandb_sweeper.searchspace.space import Parameter, canonical_spec, grid_values

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPECS = {
    "constant": {"value": "relu"},
    "categorical": {"values": [16, 32, 64]},
    "categorical_objects": {"values": [[64, 64], {"depth": 2}, None]},
    "categorical_w_probabilities": {"values": ["a", "b", "c"], "probabilities": [0.7, 0.2, 0.1]},
    "int_uniform": {"min": 2, "max": 9},
    "uniform": {"min": -1.5, "max": 2.5},
    "q_uniform": {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.1},
    "q_uniform_int": {"distribution": "q_uniform", "min": 0, "max": 100, "q": 5},
    "log_uniform_values": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
    "q_log_uniform_values": {"distribution": "q_log_uniform_values", "min": 8, "max": 512, "q": 8},
    "inv_log_uniform_values": {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 10.0},
    "log_uniform": {"distribution": "log_uniform", "min": -9.0, "max": -2.0},
    "q_log_uniform": {"distribution": "q_log_uniform", "min": 0.0, "max": 5.0, "q": 1},
    "inv_log_uniform": {"distribution": "inv_log_uniform", "min": 0.0, "max": 4.0},
    "normal": {"distribution": "normal", "mu": 3.0, "sigma": 0.5},
    "q_normal": {"distribution": "q_normal", "mu": 10.0, "sigma": 2.0, "q": 0.5},
    "log_normal": {"distribution": "log_normal", "mu": 0.0, "sigma": 0.5},
    "q_log_normal": {"distribution": "q_log_normal", "mu": 2.0, "sigma": 0.3, "q": 1},
    "beta": {"distribution": "beta", "a": 2.0, "b": 5.0},
    "q_beta": {"distribution": "q_beta", "a": 2.0, "b": 2.0, "q": 0.25},
}


def parameter(name: str) -> Parameter:
    spec = canonical_spec(name, SPECS[name], where="hydra.sweeper.parameters")
    return Parameter(key=name, wandb_name=name, spec=spec)


def sample(param: Parameter, n: int, sampler: optuna.samplers.BaseSampler) -> list:
    study = optuna.create_study(sampler=sampler)
    values = []
    for _ in range(n):
        trial = study.ask()
        value = suggest(trial, param, grid=False)
        values.append(value)
        study.tell(trial, 0.0)
    return values


def in_support(name: str, spec: dict, value: object) -> bool:
    kind = spec["distribution"]
    if kind in ("constant",):
        return value == spec["value"]
    if kind in ("categorical", "categorical_w_probabilities"):
        return value in spec["values"]
    if kind in ("log_uniform", "q_log_uniform"):
        low, high = math.exp(spec["min"]), math.exp(spec["max"])
    elif kind == "inv_log_uniform":
        low, high = math.exp(-spec["max"]), math.exp(-spec["min"])
    elif kind in ("normal", "q_normal", "log_normal", "q_log_normal"):
        return math.isfinite(value)  # type: ignore[arg-type]
    elif kind in ("beta", "q_beta"):
        low, high = 0.0, 1.0
    else:
        low, high = spec["min"], spec["max"]
    slack = spec.get("q", 0)  # rounding to a multiple of q may step just outside
    return low - slack <= value <= high + slack  # type: ignore[operator]


@pytest.mark.parametrize("name", list(SPECS))
def test_sampled_values_lie_in_the_distribution_and_are_python_values(name):
    param = parameter(name)
    values = sample(param, 40, optuna.samplers.RandomSampler(seed=1))
    for value in values:
        assert in_support(name, dict(param.spec), value), (name, value)
        assert type(value).__module__ == "builtins", f"{name}: {type(value)} is not a Python value"
    if param.spec["distribution"].startswith("q_"):
        q = param.spec["q"]
        assert all(abs(v / q - round(v / q)) < 1e-9 for v in values)


def test_integer_q_and_int_uniform_give_ints():
    for name in ("int_uniform", "q_uniform_int", "q_log_uniform_values"):
        assert all(
            type(v) is int for v in sample(parameter(name), 20, optuna.samplers.RandomSampler(0))
        )


def test_normal_and_weighted_choice_follow_their_parameters():
    normal = sample(parameter("normal"), 400, optuna.samplers.RandomSampler(seed=0))
    assert abs(statistics.mean(normal) - 3.0) < 0.1
    assert abs(statistics.stdev(normal) - 0.5) < 0.1
    weighted = sample(
        parameter("categorical_w_probabilities"), 400, optuna.samplers.RandomSampler(0)
    )
    assert 0.6 < weighted.count("a") / 400 < 0.8
    assert weighted.count("c") / 400 < 0.2


def test_log_uniform_values_spread_evenly_over_decades():
    values = sample(parameter("log_uniform_values"), 400, optuna.samplers.RandomSampler(seed=0))
    below_1e3 = sum(v < 1e-3 for v in values) / len(values)
    assert 0.4 < below_1e3 < 0.6  # 1e-3 is the middle decade of [1e-5, 1e-1]


@pytest.mark.parametrize(
    "sampler",
    [
        optuna.samplers.TPESampler(seed=0, n_startup_trials=3),
        optuna.samplers.GPSampler(seed=0, n_startup_trials=3),
    ],
    ids=["tpe", "gp"],
)
def test_model_based_samplers_drive_every_distribution(sampler):
    study = optuna.create_study(sampler=sampler)
    params = [parameter(name) for name in SPECS]
    for _ in range(6):
        trial = study.ask()
        values = {p.key: suggest(trial, p, grid=False) for p in params}
        assert all(in_support(p.key, dict(p.spec), values[p.key]) for p in params)
        study.tell(trial, float(values["uniform"]))


def test_grid_points_map_back_to_their_values():
    params = [parameter(name) for name in ("categorical", "categorical_objects", "q_uniform_int")]
    grid = Grid(params)
    study = optuna.create_study()
    for index in (0, 1, grid.size - 1):
        expected = grid.values(index)
        raw, distributions = grid.optuna_params(index)
        study.enqueue_trial(raw)
        trial = study.ask(distributions)
        assert {p.key: suggest(trial, p, grid=True) for p in params} == expected
    # the last parameter varies fastest, as in W&B's grid
    last = params[-1]
    assert grid.values(1)[last.key] == grid_values(last)[1]


def test_quantize_keeps_decimal_values_clean():
    assert quantize(0.30000000000000004, 0.1) == 0.3
    assert quantize(7.4, 5) == 5
    assert type(quantize(7.4, 5)) is int


def test_sampled_values_survive_overrides_and_hydra_composition(tmp_path: Path):
    from hydra_wandb_sweeper.searchspace.overrides import override

    (tmp_path / "config.yaml").write_text("\n".join(f"{name}: null" for name in SPECS) + "\n")
    samples = {
        name: sample(parameter(name), 5, optuna.samplers.RandomSampler(seed=2)) for name in SPECS
    }
    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        for index in range(5):
            values = {name: samples[name][index] for name in SPECS}
            config = compose("config", overrides=[override(k, v) for k, v in values.items()])
            for name, value in values.items():
                composed = config[name]
                if hasattr(composed, "_content"):
                    from omegaconf import OmegaConf

                    composed = OmegaConf.to_container(composed)
                assert composed == value and type(composed) is type(value), (name, value, composed)
