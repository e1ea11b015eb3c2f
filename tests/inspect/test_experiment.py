"""`export`: the best trial as an experiment config that composes exactly the trial's config."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from hydra_wandb_sweeper.engine.local.reading import LocalSweeps
from hydra_wandb_sweeper.engine.table import InspectError
from hydra_wandb_sweeper.inspect.experiment import write_experiment
from tests.support.stored_sweeps import Outcome, store_sweep


def composed(config_dir: Path, overrides: list[str]) -> dict:
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        config = compose("config", overrides=overrides)
    return OmegaConf.to_container(config, resolve=False)


@pytest.fixture
def app_conf(tmp_path: Path, repo_root: Path) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(repo_root / "conf", conf)
    assert not (conf / "experiment").exists()  # export creates the group
    return conf


@pytest.mark.parametrize(
    "overrides",
    [
        # a group swap, a value of the swapped group, values of other groups
        ["model=cnn_bilstm", "model.dropout=0.35", "optimizer.lr=0.0031", "data.batch_size=64"],
        # a sweep config that swaps a group and sets values, beside the trial's values
        [
            "sweep=quick",
            "model=mlp",
            "optimizer.weight_decay=1.5e-05",
            "+trainer.gradient_clip_val=0.5",
        ],
        # the default option chosen explicitly, a seed
        ["model=cnn_tcn", "seed=7", "data=pamap2"],
    ],
)
def test_exported_experiment_composes_the_trials_config(app_conf, overrides):
    path = write_experiment(overrides, app_conf, "best", header="trial 3")
    assert path == app_conf / "experiment" / "best.yaml"
    assert path.read_text().startswith("# @package _global_\n# trial 3\n")
    assert composed(app_conf, ["+experiment=best"]) == composed(app_conf, overrides)


def test_group_choices_are_override_defaults_and_values_are_keys(app_conf):
    overrides = ["model=cnn_bilstm", "model.dropout=0.35", "optimizer.lr=0.0031"]
    text = write_experiment(overrides, app_conf, "bilstm").read_text()
    assert "- override /model: cnn_bilstm" in text
    assert "optimizer:\n  lr: 0.0031" in text
    assert "model:\n  dropout: 0.35" in text
    assert "sweep" not in text


def test_export_of_a_stored_sweep_best_trial_with_a_group_swap(tmp_path, app_conf):
    """From the storage: the best trial's recorded overrides, through `export`'s own reading."""
    storage = tmp_path / "journal.log"
    sweep_id = store_sweep(
        storage,
        {
            "model": {"values": ["cnn_bilstm"]},
            "optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
            "model.dropout": {"min": 0.1, "max": 0.5},
        },
        4,
        lambda params: Outcome(value=-abs(params["optimizer.lr"] - 0.003)),
    )
    table = LocalSweeps(str(storage)).read(sweep_id)
    best = table.require_best()
    overrides = table.rerun_overrides(best)
    assert "model=cnn_bilstm" in overrides
    write_experiment(overrides, app_conf, "best")
    exported = composed(app_conf, ["+experiment=best"])
    assert exported == composed(app_conf, overrides)
    assert (
        exported["model"]["_target_"]
        == composed(app_conf, ["model=cnn_bilstm"])["model"]["_target_"]
    )
    assert exported["optimizer"]["lr"] == best.params["optimizer.lr"]


def test_a_config_dir_without_the_primary_config_is_one_clear_error(tmp_path):
    with pytest.raises(InspectError, match=r"--config-dir: no config.yaml in"):
        write_experiment(["x=1"], tmp_path, "best")
