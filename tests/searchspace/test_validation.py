"""Checks of the search space against a config composed by Hydra's real config loader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hydra import initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.space import build_search_space
from hydra_wandb_sweeper.searchspace.validation import check_against_config

CONF = Path(__file__).resolve().parents[1] / "support" / "apps" / "quadratic" / "conf"

pytestmark = pytest.mark.usefixtures("hydra_restore_singletons")


class CountingLoader:
    """Hydra's config loader, counting the configs it composes."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self.compositions = 0

    def get_group_options(self, *args: Any, **kwargs: Any) -> list[str]:
        return self._loader.get_group_options(*args, **kwargs)

    def load_sweep_config(self, *args: Any, **kwargs: Any) -> Any:
        self.compositions += 1
        return self._loader.load_sweep_config(*args, **kwargs)


@pytest.fixture
def loader() -> Iterator[CountingLoader]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield CountingLoader(GlobalHydra.instance().config_loader())


def check(
    loader: CountingLoader,
    *arguments: str,
    parameters: dict[str, Any] | None = None,
    config_name: str = "config",
) -> None:
    config = loader._loader.load_configuration(
        config_name, ["hydra/sweeper=wandb"], run_mode=RunMode.MULTIRUN
    )
    space = build_search_space(parameters or {}, list(arguments))
    check_against_config(loader, config, space)


def test_a_thousand_string_values_compose_once(loader):
    labels = [f"v{i}" for i in range(1000)]
    check(loader, parameters={"label": {"values": labels}})
    assert loader.compositions == 1


class Color(Enum):
    red = 1
    green = 2


@dataclass
class Typed:
    size: int = 1
    color: Color = Color.red


ConfigStore.instance().store(name="typed_for_validation_tests", node=Typed)


@pytest.mark.parametrize(
    ("argument", "bad"), [("size=1,2,abc", "'abc'"), ("color=red,green,blue", "'blue'")]
)
def test_a_value_the_typed_field_refuses_is_named(loader, argument, bad):
    with pytest.raises(SweepConfigError) as error:
        check(loader, argument, config_name="typed_for_validation_tests")
    key = argument.split("=")[0]
    assert error.value.key == f"hydra.sweeper.parameters.{key}"
    assert f"{key}={bad}" in str(error.value)
    assert loader.compositions == 1


@pytest.mark.parametrize("swept", [1, 2, 5])
def test_a_key_typo_is_named_among_any_number_of_swept_keys(loader, swept):
    others = ["x=0,1", "y=0,1", "label=a,b", "shape=flat,bowl"][: swept - 1]
    with pytest.raises(SweepConfigError) as error:
        check(loader, *others, "lable=a,b")
    assert error.value.key == "hydra.sweeper.parameters.lable"
    assert "'+lable'" in str(error.value)


def test_a_fixed_override_that_cannot_compose_is_named(loader):
    with pytest.raises(SweepConfigError) as error:
        check(loader, "x=0,1", "boo=1")
    assert error.value.key == "command line"
    assert "boo" in str(error.value) and "+boo=1" in str(error.value)


def infer(loader: CountingLoader, *arguments: str, parameters: dict[str, Any] | None = None):
    from hydra_wandb_sweeper.searchspace.validation import infer_group_conditions

    config = loader._loader.load_configuration(
        "config", ["hydra/sweeper=wandb"], run_mode=RunMode.MULTIRUN
    )
    space, notes = infer_group_conditions(
        loader, config, build_search_space(parameters or {}, list(arguments))
    )
    check_against_config(loader, config, space)
    return space, notes


def test_a_key_only_some_options_have_applies_with_those_options(loader):
    space, notes = infer(loader, "shape=flat,ring,bowl", "shape.radius=1.0,3.0", "x=0,1")
    assert space.by_key()["shape.radius"].when == {"shape": ["ring"]}
    assert space.by_key()["x"].when == {}
    assert notes == [
        "shape.radius applies only when shape is ring: the other options have no such key"
    ]


def test_a_conditional_space_composes_once_per_choice_it_depends_on(loader):
    parameters = {
        "shape": {"values": ["flat", "ring"]},
        "shape.radius": {"values": [1.0, 3.0], "when": {"shape": "ring"}},
    }
    check(loader, parameters=parameters)
    assert loader.compositions == 2


def test_a_condition_naming_an_option_without_the_key_is_refused(loader):
    parameters = {
        "shape": {"values": ["flat", "ring"]},
        "shape.radius": {"values": [1.0, 3.0], "when": {"shape": ["flat", "ring"]}},
    }
    with pytest.raises(SweepConfigError) as caught:
        check(loader, parameters=parameters)
    message = str(caught.value)
    assert message.startswith("hydra.sweeper.parameters.shape.radius: ")
    assert "shape.radius=1.0 (with shape=flat)" in message
    assert "It applies when shape is flat or ring" in message
    assert len(message.splitlines()) == 1


def test_a_key_no_option_has_is_still_refused(loader):
    with pytest.raises(SweepConfigError, match=r"shape\.radius"):
        infer(loader, "shape=flat,bowl", "shape.radius=1.0,3.0")
