"""Reading ``hydra.sweeper``: the typed config's unset fields, pasted W&B fields, aliases."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from hydra_wandb_sweeper.config import sweeper_config_node
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.sweep.settings import read_settings


def plain_settings(node):
    """The settings as Hydra hands them over: its defaults list already applied."""
    return {key: node[key] for key in node if not key.startswith("_") and key != "defaults"}


def settings_of(**changes):
    node = sweeper_config_node()
    node.merge_with(changes)
    return read_settings(plain_settings(node), Path("/launch"))


def test_unset_metric_and_early_terminate_are_none():
    settings = settings_of()
    assert settings.metric is None and settings.early_terminate is None
    assert settings.method is None


def test_set_fields_are_kept_and_unset_ones_dropped():
    settings = settings_of(metric={"name": "loss"}, early_terminate={"type": "hyperband", "eta": 3})
    assert settings.metric == {"name": "loss"}
    assert settings.early_terminate == {"type": "hyperband", "eta": 3}


def test_program_and_command_are_kept_as_written(caplog):
    node = sweeper_config_node()
    node.merge_with(OmegaConf.create({"program": "train.py", "command": ["python", "x"]}))
    node.command.append("${args}")  # W&B's macro, as Hydra hands it over once resolved
    raw = plain_settings(node)
    with caplog.at_level("INFO"):
        settings = read_settings(raw, Path("/launch"))
    assert settings.program == "train.py"
    assert settings.command == ("python", "x", "${args}")
    assert "W&B's CLI agent" in caplog.text


def test_max_batch_size_is_the_basic_sweepers_name_for_n_jobs():
    assert settings_of(max_batch_size=4).n_jobs == 4
    assert settings_of(max_batch_size=4, n_jobs=4).n_jobs == 4
    with pytest.raises(SweepConfigError) as error:
        settings_of(max_batch_size=4, n_jobs=2)
    assert error.value.key == "hydra.sweeper.max_batch_size"


def test_a_trial_time_limit_is_a_positive_number_of_seconds():
    assert settings_of().trial_timeout_seconds is None
    assert settings_of(trial_timeout_seconds=90).trial_timeout_seconds == 90.0
    with pytest.raises(SweepConfigError, match=r"trial_timeout_seconds.*got -1.*positive"):
        settings_of(trial_timeout_seconds=-1)
