"""Bad input is refused before any trial starts, with the key, the value and what was expected."""

from __future__ import annotations

import pytest

from tests.support.sweeper_helpers import run_sweep

CASES = {
    "unknown method": (
        ["x=1,2", "hydra.sweeper.method=bayesian"],
        ["hydra.sweeper.method", "bayesian", "bayes"],
    ),
    "unknown distribution": (
        ["+hydra.sweeper.parameters.x={distribution:log_uniform_value,min:1,max:2}"],
        ["hydra.sweeper.parameters.x", "log_uniform_value", "log_uniform_values"],
    ),
    "min >= max": (
        ["+hydra.sweeper.parameters.x={min:2.0,max:1.0}"],
        ["hydra.sweeper.parameters.x", "min", "max"],
    ),
    "probabilities off": (
        ["+hydra.sweeper.parameters.x={values:[1,2],probabilities:[0.5,0.6]}"],
        ["hydra.sweeper.parameters.x", "probabilities", "1"],
    ),
    "grid with a continuous parameter": (
        ["x=interval(0,1)", "hydra.sweeper.method=grid"],
        ["x", "grid", "interval"],
    ),
    "bayes without metric": (
        ["x=interval(0,1)", "hydra.sweeper.method=bayes", "hydra.sweeper.count=2"],
        ["hydra.sweeper.metric", "bayes"],
    ),
    "early_terminate without metric": (
        ["x=1,2", "hydra.sweeper.early_terminate={type:hyperband,min_iter:1}"],
        ["hydra.sweeper.metric", "early_terminate"],
    ),
    "key not in the config": (
        ["nosuchkey=1,2", "hydra.sweeper.method=grid"],
        ["nosuchkey", "+nosuchkey"],
    ),
    "group option that does not exist": (
        ["shape=flat,round", "hydra.sweeper.method=grid"],
        ["shape", "round", "bowl", "flat"],
    ),
    "count < 0": (["x=1,2", "hydra.sweeper.count=-1"], ["hydra.sweeper.count", "-1"]),
    "run_cap <= 0": (["x=1,2", "hydra.sweeper.run_cap=-3"], ["hydra.sweeper.run_cap", "-3"]),
    "storage that cannot be opened": (
        ["x=1,2", "hydra.sweeper.count=1", "hydra.sweeper.storage=nosuchdb://nowhere"],
        ["hydra.sweeper.storage", "nosuchdb://nowhere"],
    ),
    "joblib threading backend": (
        [
            "x=1,2",
            "hydra.sweeper.method=grid",
            "hydra/launcher=joblib",
            "hydra.launcher.backend=threading",
        ],
        ["hydra.launcher.backend", "threading"],
    ),
    "random that never ends": (
        ["x=interval(0,1)"],
        ["hydra.sweeper.count", "run_cap"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_a_clear_error_before_any_trial(tmp_path, name):
    overrides, expected = CASES[name]
    completed = run_sweep(tmp_path, *overrides, check=False)
    assert completed.returncode != 0
    message = completed.stderr
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message
    assert not list((tmp_path / "multirun").glob("*/.hydra")), "a trial started"
