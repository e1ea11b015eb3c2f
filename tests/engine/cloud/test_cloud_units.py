"""The cloud engine's pure parts: sweep paths, W&B configs both ways, run-command values."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydra_wandb_sweeper.engine.base import SweepDefinition
from hydra_wandb_sweeper.engine.cloud.connection import SweepPath
from hydra_wandb_sweeper.engine.cloud.engine import wandb_sweep_config
from hydra_wandb_sweeper.engine.cloud.markers import claim_trial_number
from hydra_wandb_sweeper.engine.cloud.opening import definition_from_wandb
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.sweep.settings import read_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc123de", ("me", "proj", "abc123de")),
        ("other/abc123de", ("me", "other", "abc123de")),
        ("team/other/abc123de", ("team", "other", "abc123de")),
        ("team/other/sweeps/abc123de", ("team", "other", "abc123de")),  # a copied URL tail
    ],
)
def test_sweep_paths_as_the_wandb_ui_shows_them(text: str, expected: tuple) -> None:
    path = SweepPath.parse(text, "me", "proj")
    assert (path.entity, path.project, path.sweep_id) == expected


def test_a_bad_sweep_path_names_the_key() -> None:
    with pytest.raises(SweepConfigError, match=r"hydra.sweeper.sweep_id.*entity/project"):
        SweepPath.parse("a/b/c/d", None, None)


DEFINITION = SweepDefinition(
    method="bayes",
    metric_name="val/acc",
    goal="maximize",
    target=0.99,
    parameters=(
        (
            "optimizer.lr",
            "optimizer.lr",
            {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1},
        ),
        ("+experiment", "experiment", {"distribution": "categorical", "values": ["a", "b"]}),
    ),
    early_terminate={"type": "hyperband", "min_iter": 2, "eta": 2},
    run_cap=20,
    name="har",
)


def test_the_wandb_config_holds_everything_the_server_decides_with() -> None:
    config = wandb_sweep_config(DEFINITION, program="train.py")
    assert config["metric"] == {"name": "val/acc", "goal": "maximize", "target": 0.99}
    assert config["parameters"]["experiment"]["values"] == ["a", "b"]
    assert config["early_terminate"]["min_iter"] == 2 and config["run_cap"] == 20
    assert config["command"][-1] == "${args_no_hyphens}" and config["program"] == "train.py"


def test_a_pasted_command_goes_into_the_wandb_sweep_as_written() -> None:
    command = ["${env}", "${interpreter}", "${program}", "${args}"]
    config = wandb_sweep_config(DEFINITION, program="train.py", command=command)
    assert config["command"] == command and config["program"] == "train.py"


def test_a_joined_wandb_config_maps_back_to_hydra_keys() -> None:
    config = wandb_sweep_config(DEFINITION, program=None)
    joined = definition_from_wandb(config, {"experiment": "+experiment"})
    assert joined.parameters == DEFINITION.parameters
    assert (joined.method, joined.metric_name, joined.goal, joined.target) == (
        "bayes",
        "val/acc",
        "maximize",
        0.99,
    )


def test_a_nested_wandb_config_gives_dotted_keys() -> None:
    nested = {
        "method": "random",
        "parameters": {"optimizer": {"parameters": {"lr": {"min": 0.001, "max": 0.1}}}},
    }
    joined = definition_from_wandb(nested, {})
    assert [key for key, _, _ in joined.parameters] == ["optimizer.lr"]


def test_trial_numbers_are_claimed_once_per_folder(tmp_path: Path) -> None:
    assert [claim_trial_number(tmp_path) for _ in range(3)] == [0, 1, 2]


@pytest.mark.parametrize("key", ["stop_grace_seconds", "server_retry_seconds"])
def test_seconds_settings_must_be_positive(key: str, tmp_path: Path) -> None:
    with pytest.raises(SweepConfigError, match=rf"hydra\.sweeper\.{key}"):
        read_settings({key: -1}, tmp_path)


def test_publish_must_be_a_flag(tmp_path: Path) -> None:
    with pytest.raises(SweepConfigError, match=r"hydra\.sweeper\.publish"):
        read_settings({"publish": "yes"}, tmp_path)
