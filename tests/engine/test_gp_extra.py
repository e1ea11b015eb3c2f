"""Without torch (the ``gp`` extra), every method runs, ``bayes`` keeps its default GP (on
numpy and scipy), and asking for Optuna's torch GP says what to install before any trial.

torch is hidden from a real sweep's process by a ``sitecustomize`` module that puts a finder
refusing it first on ``sys.meta_path``, so that ``import torch`` fails as it does where torch is
not installed (libraries that look for torch in ``sys.modules`` find nothing either), while the
rest of this environment stays as it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from hydra_wandb_sweeper.engine.local import samplers
from hydra_wandb_sweeper.engine.local.numpy_gp import NumpyGPSampler
from tests.support.sweeper_helpers import run_checked, sweep_command, sweep_env


@pytest.fixture
def no_torch(tmp_path: Path) -> Path:
    """A sitecustomize folder that hides torch from every Python process started with it."""
    folder = tmp_path / "no_torch"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        f"import sys\n{_BLOCKER}\nsys.meta_path.insert(0, NoTorch())\n"
    )
    return folder


_BLOCKER = """
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
"""


@pytest.fixture
def torch_hidden_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same finder in this process, torch taken out of ``sys.modules`` meanwhile."""
    namespace: dict[str, object] = {}
    exec(_BLOCKER, namespace)
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [namespace["NoTorch"](), *sys.meta_path])


def test_the_default_gp_is_the_numpy_one_and_gp_torch_is_optunas():
    default = samplers.build_sampler("bayes", 0, ("gp", 5))
    torch_gp = samplers.build_sampler("bayes", 0, ("gp_torch", 5))
    assert isinstance(default._model, NumpyGPSampler)
    assert isinstance(torch_gp._model, samplers.BoundedGPSampler)


def test_without_torch_bayes_builds_the_numpy_gp_and_never_imports_torch(torch_hidden_here):
    gp = samplers.build_sampler("bayes", 0, ("gp", 5))
    tpe = samplers.build_sampler("bayes", 0, ("tpe", 5))
    assert isinstance(gp._model, NumpyGPSampler)
    assert isinstance(tpe._model, optuna.samplers.TPESampler)
    study = optuna.create_study(sampler=gp)
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=7)
    assert "torch" not in sys.modules


def _sweep_without_torch(
    tmp_path: Path, no_torch: Path, *overrides: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = sweep_env(tmp_path)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([str(no_torch), root, env.get("PYTHONPATH", "")])
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True)
    assert probe.returncode != 0, "torch is still importable: the test would hide nothing"
    return run_checked(
        sweep_command(tmp_path, *overrides), cwd=tmp_path, env=env, check=check, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bayes", "random", "grid"])
def test_a_sweep_without_torch_runs_every_method(tmp_path, no_torch, method):
    space = ["x=-1,0,1"] if method == "grid" else ["x=interval(-2,2)", "hydra.sweeper.count=7"]
    completed = _sweep_without_torch(
        tmp_path,
        no_torch,
        f"hydra.sweeper.method={method}",
        "hydra.sweeper.metric.name=loss",
        "hydra.sweeper.seed=0",
        "hydra.sweeper.bayes_startup_trials=2",
        *space,
    )
    output = completed.stdout + completed.stderr
    assert "Traceback" not in output
    assert "not installed" not in output, output  # nothing to say: torch is not needed
    assert len(list((tmp_path / "multirun").glob("*/trial.json"))) == (3 if method == "grid" else 7)


def test_gp_torch_without_torch_is_a_config_error_before_any_trial(tmp_path, no_torch):
    completed = _sweep_without_torch(
        tmp_path,
        no_torch,
        "hydra.sweeper.method=bayes",
        "hydra.sweeper.bayes_sampler=gp_torch",
        "hydra.sweeper.metric.name=loss",
        "hydra.sweeper.count=4",
        "x=interval(-2,2)",
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "Traceback" not in output
    assert "hydra.sweeper.bayes_sampler: got 'gp_torch'" in output
    assert "pip install 'hydra-wandb-sweeper[gp]'" in output
    assert not list(tmp_path.glob("multirun/*/trial.json"))


@pytest.mark.slow
def test_gp_torch_runs_optunas_gp_in_a_real_sweep_of_two_agents(tmp_path):
    completed = run_checked(
        sweep_command(
            tmp_path,
            "hydra.sweeper.method=bayes",
            "hydra.sweeper.bayes_sampler=gp_torch",
            "hydra.sweeper.metric.name=loss",
            "hydra.sweeper.seed=0",
            "hydra.sweeper.agents=2",
            "hydra.sweeper.count=6",
            "hydra.sweeper.bayes_startup_trials=2",
            "x=interval(-2,2)",
        ),
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        check=True,
        timeout=300,
    )
    assert "Traceback" not in completed.stdout + completed.stderr
    trials = list((tmp_path / "multirun").glob("*/trial.json"))
    assert len(trials) == 6
