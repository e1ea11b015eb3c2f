"""Building the search space: nesting, merging the command line, W&B names, overrides."""

from __future__ import annotations

from typing import Any

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.space import build_search_space, wandb_name_for
from tests.support.space_cases import CANONICAL, WHERE, build_error, space

PARSER = OverridesParser.create()

# --- building the space: nesting, merging the command line ---------------------------------------


def test_nested_parameters_blocks_become_dotted_keys() -> None:
    result = space(
        {
            "optimizer": {
                "parameters": {
                    "lr": {"min": 0.001, "max": 0.1},
                    "sched": {"parameters": {"gamma": {"values": [0.9, 0.99]}}},
                }
            },
            "model.dropout": "interval(0.1,0.5)",
        }
    )
    assert [p.key for p in result.parameters] == [
        "optimizer.lr",
        "optimizer.sched.gamma",
        "model.dropout",
    ]
    assert result.by_key()["optimizer.sched.gamma"].spec == {
        "distribution": "categorical",
        "values": [0.9, 0.99],
    }
    assert result.by_key()["optimizer.lr"].origin == f"{WHERE}.optimizer.lr"
    assert result.fixed_overrides == ()


def test_nested_and_flat_spelling_of_one_key_collide() -> None:
    error = build_error(
        {"optimizer": {"parameters": {"lr": {"value": 1}}}, "optimizer.lr": {"value": 2}}
    )
    assert error.key == f"{WHERE}.optimizer.lr"
    assert "'optimizer.lr' and 'optimizer.lr'" in str(error)


def test_plus_prefix_is_the_same_key_in_the_config() -> None:
    error = build_error({"experiment": "a,b", "+experiment": "c,d"})
    assert "'+experiment' and 'experiment'" in str(error)


@pytest.mark.parametrize("nested", [{}, None])
def test_empty_nested_block_is_an_error(nested: Any) -> None:
    error = build_error({"optimizer": {"parameters": nested}})
    assert error.key == f"{WHERE}.optimizer.parameters"


def test_parameters_must_be_a_mapping() -> None:
    with pytest.raises(SweepConfigError, match="expected a mapping") as error:
        build_search_space(["a"], [])  # type: ignore[arg-type]
    assert error.value.key == WHERE


def test_omegaconf_parameters_and_none_are_accepted() -> None:
    config = OmegaConf.create(
        {"model": {"values": ["a", "b"]}, "optimizer": {"parameters": {"lr": "interval(0,1)"}}}
    )
    assert [p.key for p in build_search_space(config, []).parameters] == ["model", "optimizer.lr"]
    assert build_search_space(None, []).parameters == ()


def test_custom_where_prefixes_errors() -> None:
    with pytest.raises(SweepConfigError) as error:
        build_search_space({"x": {"min": 2, "max": 1}}, [], where="sweep.parameters")
    assert error.value.key == "sweep.parameters.x"


def test_command_line_sweep_replaces_the_config_spec_in_place() -> None:
    result = space(
        {"model": {"values": ["a"]}, "optimizer.lr": {"min": 0.1, "max": 1.0}},
        ("model=cnn_tcn,cnn_bilstm", "seed=1,2"),
    )
    assert [p.key for p in result.parameters] == ["model", "optimizer.lr", "seed"]
    model = result.by_key()["model"]
    assert model.spec == {"distribution": "categorical", "values": ["cnn_tcn", "cnn_bilstm"]}
    assert model.origin == "model=cnn_tcn,cnn_bilstm"


def test_plain_command_line_override_fixes_the_key() -> None:
    arguments = ("trainer.max_epochs=3", "+trainer.extra='a b'", "name='x=y'", "~logger", "++z=1")
    result = space({"trainer.max_epochs": "range(1,10)", "logger": "a,b", "z": "1,2"}, arguments)
    assert result.parameters == ()
    assert result.fixed_overrides == arguments


def test_plus_prefix_identity_and_command_line_spelling_wins() -> None:
    result = space({"experiment": "a,b"}, ("+experiment=c,d",))
    (param,) = result.parameters
    assert param.key == "+experiment"
    assert param.wandb_name == "experiment"
    assert result.name_map() == {"+experiment": "experiment"}
    assert result.to_overrides({"+experiment": "c"}) == ["+experiment=c"]
    fixed = space({"+experiment": "a,b"}, ("experiment=c",))
    assert fixed.parameters == () and fixed.fixed_overrides == ("experiment=c",)


@pytest.mark.parametrize(
    ("arguments", "keys", "fixed"),
    [
        (("x=1,2", "x=3"), [], ("x=3",)),
        (("x=3", "x=1,2"), ["x"], ()),
        (("x=3", "+x=4"), [], ("+x=4",)),
        (("x=1,2", "+x=3,4"), ["+x"], ()),
        (("~x", "y=1"), [], ("~x", "y=1")),
    ],
)
def test_later_command_line_override_wins(
    arguments: tuple[str, ...], keys: list[str], fixed: tuple[str, ...]
) -> None:
    result = space({}, arguments)
    assert [p.key for p in result.parameters] == keys
    assert result.fixed_overrides == fixed


def test_group_keys_with_packages_and_nesting() -> None:
    result = space({"db@backup": "mysql,sqlite", "data/aug": "flip,crop"}, ("db=pg,mysql",))
    assert [p.key for p in result.parameters] == ["db@backup", "data/aug", "db"]
    assert result.name_map() == {"db@backup": "db-at-backup", "data/aug": "data.aug"}
    assert result.to_overrides({"db@backup": "mysql", "data/aug": "flip", "db": "pg"}) == [
        "db@backup=mysql",
        "data/aug=flip",
        "db=pg",
    ]


@pytest.mark.parametrize(
    "parameters",
    [
        {"hydra.job.chdir": "true,false"},
        {"hydra/launcher": {"values": ["basic", "joblib"]}},
        {"hydra": {"parameters": {"verbose": {"values": [True, False]}}}},
    ],
)
def test_hydra_config_cannot_be_swept_from_the_config(parameters: dict[str, Any]) -> None:
    error = build_error(parameters)
    assert error.key.startswith(f"{WHERE}.hydra")
    assert "Hydra's own config" in str(error)


@pytest.mark.parametrize("argument", ["hydra/launcher=basic,joblib", "hydra.job.chdir=true,false"])
def test_hydra_config_cannot_be_swept_from_the_command_line(argument: str) -> None:
    error = build_error({}, (argument,))
    assert error.key == argument
    assert "Hydra's own config" in str(error)


def test_plain_hydra_override_passes_through() -> None:
    result = space({}, ("hydra.job.chdir=true", "hydra/launcher=joblib"))
    assert result.fixed_overrides == ("hydra.job.chdir=true", "hydra/launcher=joblib")


@pytest.mark.parametrize("key", ["a b", "~x", "", "x=1", "a..b", "model@a@b"])
def test_invalid_config_keys_are_explained(key: str) -> None:
    error = build_error({key: {"value": 1}})
    assert error.key == f"{WHERE}.{key}"
    assert repr(key)[1:-1] in str(error)


def test_non_string_config_key_is_explained() -> None:
    error = build_error({3: {"value": 1}})  # type: ignore[dict-item]
    assert "3" in str(error)


def test_unparseable_command_line_override_is_explained() -> None:
    error = build_error({}, ("x=interval(",))
    assert error.key == "x=interval("
    assert "cannot parse" in str(error)


# --- W&B names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("optimizer.lr", "optimizer.lr"),
        ("model", "model"),
        ("+experiment", "experiment"),
        ("++trainer.x", "trainer.x"),
        ("data/aug", "data.aug"),
        ("db@backup", "db-at-backup"),
        ("data/aug@train.aug", "data.aug-at-train.aug"),
        ("layers.0.width", "layers.0.width"),
        ("a-b_c", "a-b_c"),
    ],
)
def test_wandb_name_for(key: str, name: str) -> None:
    assert wandb_name_for(key) == name


@pytest.mark.parametrize("key", ["$x", "0.lr", "a$b", "+", ""])
def test_key_without_a_valid_wandb_name_is_explained(key: str) -> None:
    with pytest.raises(SweepConfigError, match=r"\^\[A-Za-z_\]") as error:
        wandb_name_for(key)
    assert error.value.key == key


@pytest.mark.parametrize(
    ("parameters", "arguments", "names"),
    [
        ({"data/aug": "a,b", "data.aug": "c,d"}, (), ("data.aug", "data/aug")),
        ({"db@backup": "a,b"}, ("db-at-backup=1,2",), ("db-at-backup", "db@backup")),
    ],
)
def test_two_keys_with_one_wandb_name_collide(
    parameters: dict[str, Any], arguments: tuple[str, ...], names: tuple[str, str]
) -> None:
    message = str(build_error(parameters, arguments))
    for name in names:
        assert f"'{name}'" in message
    assert "both map to the W&B parameter name" in message


def test_wandb_parameters_are_copies_by_wandb_name() -> None:
    result = space({"+experiment": {"values": [[1], [2]]}, "db@x": "a,b"})
    exported = result.wandb_parameters()
    assert exported == {
        "experiment": {"distribution": "categorical", "values": [[1], [2]]},
        "db-at-x": {"distribution": "categorical", "values": ["a", "b"]},
    }
    exported["experiment"]["values"][0].append(99)
    assert result.by_key()["+experiment"].spec["values"] == [[1], [2]]


# --- to_overrides ------------------------------------------------------------------------------


def test_to_overrides_in_parameter_order_without_fixed() -> None:
    result = space(
        {"optimizer.lr": "tag(log, interval(1e-4, 1e-1))", "model": "a,b", "+experiment": "x,y"},
        ("trainer.max_epochs=3",),
    )
    values = {"+experiment": "x", "model": "cnn tcn", "optimizer.lr": 0.001}
    assert result.to_overrides(values) == ["optimizer.lr=0.001", "model='cnn tcn'", "+experiment=x"]


@pytest.mark.parametrize(
    ("values", "fragment"),
    [({"a": 1}, "missing ['b']"), ({"a": 1, "b": 2, "c": 3}, "unknown ['c']")],
)
def test_to_overrides_needs_exactly_the_parameter_keys(
    values: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match="exactly the keys") as error:
        space({"a": "1,2", "b": "3,4"}).to_overrides(values)
    assert fragment in str(error.value)


def value_strategy(distribution_spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the type an engine returns for a distribution."""
    kind = distribution_spec["distribution"]
    if kind == "constant":
        return st.just(distribution_spec["value"])
    if kind.startswith("categorical"):
        return st.sampled_from(distribution_spec["values"])
    if kind == "int_uniform" or isinstance(distribution_spec.get("q"), int):
        return st.integers(-(10**12), 10**12)
    return st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
        [1e-300, 3.0, -0.0, 1e20]
    )


TRICKY_VALUES = [
    "008",
    "1e-3",
    "true",
    "null",
    "a b",
    'it\'s "x"',
    "a=b,c",
    "k:v",
    "[x]",
    "${x}",
    "a\\",
    "é",
    "",
    None,
    1.0,
    [1, "a b"],
    {"k": [None]},
]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_to_overrides_round_trips_every_distribution(data: st.DataObject) -> None:
    parameters = {f"p{i}": expected for i, (_, expected) in enumerate(CANONICAL)}
    parameters["tricky"] = {"values": TRICKY_VALUES}
    result = space(parameters)
    values = {
        p.key: data.draw(value_strategy(dict(p.spec)), label=p.key) for p in result.parameters
    }
    lines = result.to_overrides(values)
    for parsed, param in zip(PARSER.parse_overrides(lines), result.parameters, strict=True):
        assert parsed.get_key_element() == param.key
        read = OmegaConf.to_container(OmegaConf.create({"v": parsed.value()}), resolve=True)["v"]
        expected = values[param.key]
        assert type(read) is type(expected)
        assert repr(read) == repr(expected)


def test_config_key_without_a_wandb_name_names_the_config_path() -> None:
    error = build_error({"$x": "a,b"})
    assert error.key == f"{WHERE}.$x"
    assert "W&B names must match" in str(error)
