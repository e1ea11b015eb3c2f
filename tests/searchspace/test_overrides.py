"""Values → Hydra override strings that Hydra's parser, and a real compose, read back unchanged."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from hydra_wandb_sweeper.searchspace.overrides import format_override_value, override

PARSER = OverridesParser.create()
MISSING_MARKER = "???"  # OmegaConf's "missing value"; the job cannot read it back as text

TRICKY_STRINGS = [
    "",
    " ",
    "008",
    "0",
    "1e-3",
    "-1",
    "+1",
    "1_000",
    ".5",
    "5.",
    "true",
    "True",
    "FALSE",
    "null",
    "NULL",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "a b",
    " lead",
    "trail ",
    "\ttab",
    "it's",
    'say "hi"',
    "both ' and \"",
    "a=b",
    "a,b",
    "k:v",
    "[1]",
    "{a:1}",
    "(x)",
    "f(x)",
    "${x}",
    "${oc.env:HOME}",
    "\\${x}",
    "a\\",
    "\\",
    "\\\\",
    "\\'",
    "'\\",
    "${x}\\",
    "$${x}",
    "a${b",
    "é",
    "日本語",
    "🙂",
    "resnet/18",
    "cnn_tcn",
    "./data",
    "/abs/path",
    "a-b",
    "-a",
    "#c",
    "~x",
    "+x",
    "@x",
    "$x",
    "%x",
    "a|b",
    "a*",
    "a?",
    "!",
    "a\nb",
    "a;b",
    "x\x00y",
    "true_ish",
    "nan.5",
    "null/x",
]
TRICKY_FLOATS = [
    0.0,
    -0.0,
    3.0,
    -2.5,
    0.1,
    1e-300,
    5e-324,
    1.7976931348623157e308,
    1e16,
    1e-5,
    123456789.123456789,
    math.nan,
    math.inf,
    -math.inf,
]
TRICKY_INTS = [0, -1, 7, 2**63, -(2**70), 10**30]

dict_keys = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_ .:=,\-()\[\]{}\\/]{0,8}", fullmatch=True).filter(
        lambda key: key.lower() not in {"true", "false", "null", "nan", "inf"}
    ),
    st.integers(-1000, 1000),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(TRICKY_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TRICKY_FLOATS),
    st.floats(min_value=-1e6, max_value=1e6).map(float.__round__).map(float),  # 3.0-like
    st.text(max_size=12),
    st.text(alphabet="ab1.e-'\"\\ ${}=,:[]()", max_size=12),
    st.sampled_from(TRICKY_STRINGS),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(dict_keys, children, max_size=4)
    ),
    max_leaves=8,
)


def parsed_value(line: str) -> Any:
    (parsed,) = PARSER.parse_overrides([line])
    assert not parsed.is_sweep_override(), line
    return parsed.value()


def as_config_reads_it(value: Any) -> Any:
    """The value once OmegaConf holds it, the way Hydra stores an override's value."""
    return OmegaConf.to_container(OmegaConf.create({"v": value}), resolve=True)["v"]


def assert_same(actual: Any, expected: Any) -> None:
    """Equal values of the same types all the way down (1 is not 1.0 nor True; nan is nan)."""
    assert type(actual) is type(expected), (actual, expected)
    if isinstance(expected, float):
        assert repr(actual) == repr(expected)
    elif isinstance(expected, list):
        assert len(actual) == len(expected), (actual, expected)
        for a, e in zip(actual, expected, strict=True):
            assert_same(a, e)
    elif isinstance(expected, dict):
        assert [(type(k), k) for k in actual] == [(type(k), k) for k in expected]
        for key in expected:
            assert_same(actual[key], expected[key])
    else:
        assert actual == expected


def contains(value: Any, text: str) -> bool:
    if isinstance(value, str):
        return text in value
    if isinstance(value, list):
        return any(contains(item, text) for item in value)
    if isinstance(value, dict):
        return any(contains(item, text) for item in value.values())
    return False


# --- exact encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (-7, "-7"),
        (0.001, "0.001"),
        (1e-05, "1e-05"),
        (3.0, "3.0"),
        (1e16, "1e+16"),
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        ("cnn_tcn", "cnn_tcn"),
        ("resnet/18", "resnet/18"),
        ("a.b-c", "a.b-c"),
        ("008", "'008'"),
        ("1e-3", "'1e-3'"),
        ("true", "'true'"),
        ("Null", "'Null'"),
        ("inf", "'inf'"),
        ("", "''"),
        ("a b", "'a b'"),
        (" a", "' a'"),
        ("a,b", "'a,b'"),
        ("a=b", "'a=b'"),
        ("[1]", "'[1]'"),
        ("it's", '"it\'s"'),
        ('say "hi" it\'s', "'say \"hi\" it\\'s'"),
        ("a\\", "'a\\\\'"),
        ("a\\b", "'a\\b'"),
        ("${x}", "'\\${x}'"),
        ("é", "'é'"),
        ([1, "a", None, 2.5], "[1,a,null,2.5]"),
        ([], "[]"),
        ({"a": 1, "b c": [True]}, "{a:1,b\\ c:[true]}"),
        ({1: "x", "k:v": "y"}, "{1:x,k\\:v:y}"),
        ({}, "{}"),
        ((1, 2), "[1,2]"),
    ],
)
def test_format_override_value_encodes(value: Any, expected: str) -> None:
    assert format_override_value(value) == expected


def test_override_keeps_the_key_as_written() -> None:
    assert override("optimizer.lr", 0.001) == "optimizer.lr=0.001"
    assert override("+experiment", "a") == "+experiment=a"
    assert override("db@backup", "mysql") == "db@backup=mysql"
    assert override("data/aug", "flip") == "data/aug=flip"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float64(0.1), "0.1"),
        (np.float32(0.5), "0.5"),
        (np.int64(3), "3"),
        (np.int8(-2), "-2"),
        (np.bool_(True), "true"),
        (np.bool_(False), "false"),
        (np.str_("cnn"), "cnn"),
        (np.array([1, 2]), "[1,2]"),
        ([np.float64(0.25), {"k": np.int32(1)}], "[0.25,{k:1}]"),
    ],
)
def test_numpy_values_become_python_values(value: Any, expected: str) -> None:
    assert format_override_value(value) == expected


def test_numpy_values_parse_back_as_python_types() -> None:
    assert_same(parsed_value(override("x", np.float64(0.1))), 0.1)
    assert_same(parsed_value(override("x", np.int64(3))), 3)
    assert_same(parsed_value(override("x", np.bool_(True))), True)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({1, 2}, "{1, 2}"),
        (object, "type"),
        ({1.5: "a"}, "1.5"),
        ({True: "a"}, "True"),
        ({"1": "a"}, "'1'"),
        ({"true": "a"}, "'true'"),
        ({"-2.5": "a"}, "'-2.5'"),
        ({"": "a"}, "''"),
        ({"é": "a"}, "'é'"),
        ({"a'b": "a"}, "a'b"),
        ([{"ok": {"${x}": 1, "#": 2}}], "'#'"),
    ],
)
def test_unwritable_values_raise_value_error(value: Any, fragment: str) -> None:
    with pytest.raises(ValueError, match="cannot write") as error:
        format_override_value(value)
    assert fragment in str(error.value)


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", TRICKY_STRINGS + TRICKY_FLOATS + TRICKY_INTS)
def test_tricky_values_parse_back_unchanged(value: Any) -> None:
    line = override("key", value)
    parsed = parsed_value(line)
    if not contains(value, "${"):
        assert_same(parsed, value)
    assert_same(as_config_reads_it(parsed), value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_any_value_parses_back_unchanged(value: Any) -> None:
    """Hydra's parser reads the override back; OmegaConf then reads ``\\${`` as a literal ``${``."""
    parsed = parsed_value(override("key", value))
    if not contains(value, "${"):
        assert_same(parsed, value)
    assert_same(as_config_reads_it(parsed), value)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["+new.key", "++a.b", "db@backup", "data/aug", "~x"]), values)
def test_any_value_parses_back_under_any_key_form(key: str, value: Any) -> None:
    (parsed,) = PARSER.parse_overrides([override(key, value)])
    assert parsed.get_key_element() == key
    assert_same(as_config_reads_it(parsed.value()), value)


# --- real Hydra composition ------------------------------------------------------------------

SLOTS = 12


@pytest.fixture(scope="module")
def compose_overrides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``compose(overrides)`` over a tiny config: ``slot0..slotN: null`` and a nested key."""
    config_dir: Path = tmp_path_factory.mktemp("conf")
    lines = [f"slot{i}: null" for i in range(SLOTS)] + ["nested:", "  value: 1"]
    (config_dir / "config.yaml").write_text("\n".join(lines) + "\n")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        yield lambda overrides: compose("config", overrides=overrides)


def composed_values(compose_overrides: Any, values: list[Any]) -> list[Any]:
    overrides = [override(f"slot{i}", value) for i, value in enumerate(values)]
    config = compose_overrides(overrides)
    return [OmegaConf.to_container(config, resolve=True)[f"slot{i}"] for i in range(len(values))]


def test_compose_holds_every_tricky_value(compose_overrides: Any) -> None:
    tricky: list[Any] = [v for v in TRICKY_STRINGS + TRICKY_FLOATS + TRICKY_INTS]
    tricky += [[1, "a b", None, {"k": "${y}"}], {"a b": [1.5, "x,y"], 3: None}, {}, []]
    for start in range(0, len(tricky), SLOTS):
        chunk = tricky[start : start + SLOTS]
        for composed, value in zip(composed_values(compose_overrides, chunk), chunk, strict=True):
            assert_same(composed, value)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(values, min_size=1, max_size=SLOTS))
def test_compose_holds_any_values(compose_overrides: Any, chunk: list[Any]) -> None:
    assume(not any(contains(value, MISSING_MARKER) for value in chunk))
    for composed, value in zip(composed_values(compose_overrides, chunk), chunk, strict=True):
        assert_same(composed, value)


def test_compose_reads_the_value_through_the_config_node(compose_overrides: Any) -> None:
    config = compose_overrides(
        [override("slot0", "${nested.value}"), override("+added", [1, "x y"])]
    )
    assert config.slot0 == "${nested.value}"  # literal text, not the interpolated 1
    assert list(config.added) == [1, "x y"]


def test_missing_marker_reaches_the_job_as_missing(compose_overrides: Any) -> None:
    config = compose_overrides([override("slot0", MISSING_MARKER)])
    assert OmegaConf.is_missing(config, "slot0")
