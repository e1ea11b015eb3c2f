"""``translate``: other sweepers' configs, in the shapes their projects write them
(tests/fixtures/foreign/), rewritten for this sweeper; each translated file then runs a real
sweep of the quadratic test app with no unknown setting."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.stored import read_sweep
from tests.cli.cli_helpers import assert_one_line_error, cli
from tests.support.sweeper_helpers import APP, sweep_env

FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"


def translated(tmp_path: Path, name: str) -> tuple[dict, str, str]:
    """The translated file's config, its text, and the notes printed on stderr."""
    completed = cli(tmp_path, "translate", str(FOREIGN / name))
    return yaml.safe_load(completed.stdout), completed.stdout, completed.stderr


def test_a_hydra_optuna_sweeper_config_with_the_sampler_group(tmp_path):
    config, text, notes = translated(tmp_path, "optuna_example.yaml")
    assert config["defaults"] == ["config", {"override hydra/sweeper": "wandb"}, "_self_"]
    assert config["hydra"]["sweeper"] == {
        "method": "bayes",
        "bayes_sampler": "tpe",  # from `override hydra/sweeper/sampler: tpe`
        "metric": {"name": "objective", "goal": "minimize"},
        "seed": 123,
        "name": "quadratic",
        "count": 20,
        "n_jobs": 1,
        "parameters": {"x": "range(-5.5, 5.5, step=0.5)", "y": "choice(-5, 0, 5)"},
    }
    assert not text.startswith("# @package")  # a primary config stays one
    assert "metric.name: objective" in notes


def test_lightning_hydra_templates_hparams_search_shape(tmp_path):
    config, text, notes = translated(tmp_path, "optuna_hparams_search.yaml")
    assert text.startswith("# @package _global_\n")
    assert config["defaults"] == [{"override /hydra/sweeper": "wandb"}]
    assert config["optimized_metric"] == "loss" and config["hydra"]["mode"] == "MULTIRUN"
    sweeper = config["hydra"]["sweeper"]
    assert "_target_" not in sweeper
    assert sweeper["metric"] == {"name": "loss", "goal": "minimize"}  # optimized_metric
    assert (sweeper["seed"], sweeper["bayes_startup_trials"], sweeper["count"]) == (1234, 10, 20)
    # each key left out is named once, in the file's header and on stderr
    for key in ("direction", "sampler.consider_prior", "sampler.multivariate"):
        assert f"hydra.sweeper.{key}" in notes and f"hydra.sweeper.{key}" in text


def test_a_captain_pool_config(tmp_path):
    config, _, notes = translated(tmp_path, "captain_pool.yaml")
    sweeper = config["hydra"]["sweeper"]
    assert "wandb_sweep_config" not in sweeper and "params" not in sweeper
    assert (sweeper["agents"], sweeper["run_cap"], sweeper["count"]) == (1, 8, 2)
    assert sweeper["parameters"] == {"x": "interval(-2.0, 3.0)", "y": "choice(-3, -2, 0)"}
    assert "wandb_sweep_config.tags: a W&B sweep has no tags" in notes


def test_a_wandb_sweep_file_becomes_a_config_group_file(tmp_path):
    config, text, notes = translated(tmp_path, "wandb_sweep.yaml")
    assert text.startswith("# @package _global_\n") and not notes
    assert config["defaults"] == [{"override /hydra/sweeper": "wandb"}]
    original = yaml.safe_load((FOREIGN / "wandb_sweep.yaml").read_text())
    assert config["hydra"]["sweeper"] == original  # every key is a setting of the same name


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "target", "selection"),
    [
        # a primary config that includes the app's own: --config-name, -m
        ("optuna_example.yaml", "optuna_example.yaml", ["--config-name", "optuna_example", "-m"]),
        ("captain_pool.yaml", "captain_pool.yaml", ["--config-name", "captain_pool", "-m"]),
        # a config group file: its hydra.mode is MULTIRUN, so no -m (as the template runs it)
        ("optuna_hparams_search.yaml", "hparams_search/optuna.yaml", ["+hparams_search=optuna"]),
        ("wandb_sweep.yaml", "sweep/from_wandb.yaml", ["-m", "+sweep=from_wandb"]),
    ],
)
def test_a_translated_config_runs_its_sweep(tmp_path, source, target, selection):
    app = tmp_path / "app"
    shutil.copytree(APP.parent, app, ignore=shutil.ignore_patterns("__pycache__"))
    written = app / "conf" / target
    written.parent.mkdir(parents=True, exist_ok=True)
    cli(tmp_path, "translate", str(FOREIGN / source), "--out", str(written))
    storage = tmp_path / "journal.log"
    overrides = [
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        "hydra.sweeper.count=2",
    ]
    if source == "optuna_example.yaml":  # the app returns a dict: name its key, as noted
        overrides.append("hydra.sweeper.metric.name=loss")
    completed = subprocess.run(
        [sys.executable, str(app / "app.py"), *selection, *overrides],
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "unknown setting" not in output
    sweep_id = re.search(r"W&B sweep (\w+) \| engine: local", output).group(1)
    _, _, records = read_sweep(str(storage), sweep_id)
    assert [record.state for record in records] == [TrialState.FINISHED] * 2


def test_a_config_of_this_sweeper_is_not_translated(tmp_path):
    ours = tmp_path / "ours.yaml"
    ours.write_text("hydra:\n  sweeper:\n    method: grid\n    parameters: {x: '1,2'}\n")
    completed = cli(tmp_path, "translate", str(ours), check=False)
    assert_one_line_error(completed, "already holds this sweeper's settings")


def test_a_file_of_no_known_sweeper_is_one_line(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("trainer:\n  max_epochs: 3\n")
    completed = cli(tmp_path, "translate", str(other), check=False)
    assert_one_line_error(completed, "found neither hydra.sweeper", "method/parameters")
