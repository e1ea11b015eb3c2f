"""Without torch (the ``gp`` extra), every method runs and ``bayes`` says once that its GP runs
on numpy and scipy.

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

NOTE = "method: bayes: the GP runs on numpy and scipy, since torch is not installed"


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


def test_the_gp_runs_where_torch_is_installed():
    assert samplers.gp_available()
    sampler = samplers.build_sampler("bayes", 0, ("gp", 5))
    assert isinstance(sampler._model, samplers.BoundedGPSampler)


def test_without_torch_bayes_builds_the_numpy_gp_and_says_so_once(torch_hidden_here, caplog):
    samplers._say_gp_runs_on_numpy.cache_clear()
    assert not samplers.gp_available()
    with caplog.at_level("INFO", logger=samplers.__name__):
        first = samplers.build_sampler("bayes", 0, ("gp", 5))
        second = samplers.build_sampler("bayes", 1, ("gp", 5))
        chosen = samplers.build_sampler("bayes", 0, ("tpe", 5))
    samplers._say_gp_runs_on_numpy.cache_clear()
    assert all(isinstance(s._model, NumpyGPSampler) for s in (first, second))
    assert isinstance(chosen._model, optuna.samplers.TPESampler)
    lines = [r.getMessage() for r in caplog.records if NOTE in r.getMessage()]
    assert len(lines) == 1, caplog.text
    assert "hydra-wandb-sweeper[gp]" in lines[0]
    assert "torch" not in sys.modules  # the numpy GP never imported it


def _sweep_without_torch(
    tmp_path: Path, no_torch: Path, *overrides: str
) -> subprocess.CompletedProcess[str]:
    env = sweep_env(tmp_path)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([str(no_torch), root, env.get("PYTHONPATH", "")])
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True)
    assert probe.returncode != 0, "torch is still importable: the test would hide nothing"
    return run_checked(
        sweep_command(tmp_path, *overrides), cwd=tmp_path, env=env, check=True, timeout=300
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
    assert output.count(NOTE) == (1 if method == "bayes" else 0), output
    assert len(list((tmp_path / "multirun").glob("*/trial.json"))) == (3 if method == "grid" else 7)


@pytest.mark.slow
def test_choosing_tpe_prints_no_note_without_torch(tmp_path, no_torch):
    completed = _sweep_without_torch(
        tmp_path,
        no_torch,
        "hydra.sweeper.method=bayes",
        "hydra.sweeper.bayes_sampler=tpe",
        "hydra.sweeper.metric.name=loss",
        "hydra.sweeper.count=4",
        "hydra.sweeper.bayes_startup_trials=2",
        "x=interval(-2,2)",
    )
    assert NOTE not in completed.stdout + completed.stderr
