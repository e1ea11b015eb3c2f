"""Hydra sweep strings (choice, range, interval, tag(log, ...)) → canonical specs."""

from __future__ import annotations

from typing import Any

import pytest

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import MAX_GRID_SIZE
from tests.support.space_cases import config_error, space, spec

# --- Hydra sweep strings --------------------------------------------------------------------------

HYDRA_SWEEPS = [
    ("a,b,c", {"distribution": "categorical", "values": ["a", "b", "c"]}),
    (
        "choice(cnn_tcn, cnn_bilstm)",
        {"distribution": "categorical", "values": ["cnn_tcn", "cnn_bilstm"]},
    ),
    (
        "1,2.5,null,true,'x y',[1,2],{a:1}",
        {"distribution": "categorical", "values": [1, 2.5, None, True, "x y", [1, 2], {"a": 1}]},
    ),
    ("'008',\"1e-3\"", {"distribution": "categorical", "values": ["008", "1e-3"]}),
    ("choice(a)", {"distribution": "categorical", "values": ["a"]}),
    ("shuffle(a,b,c)", {"distribution": "categorical", "values": ["a", "b", "c"]}),
    ("sort(3,1,2)", {"distribution": "categorical", "values": [1, 2, 3]}),
    ("range(1,5)", {"distribution": "int_uniform", "min": 1, "max": 4}),
    ("range(5)", {"distribution": "int_uniform", "min": 0, "max": 4}),
    ("range(1,2)", {"distribution": "categorical", "values": [1]}),
    ("range(1,10,3)", {"distribution": "categorical", "values": [1, 4, 7]}),
    ("range(5,1,-2)", {"distribution": "categorical", "values": [5, 3]}),
    ("range(0,1,0.25)", {"distribution": "categorical", "values": [0.0, 0.25, 0.5, 0.75]}),
    ("range(0.1,0.4,0.1)", {"distribution": "categorical", "values": [0.1, 0.2, 0.3]}),
    ("shuffle(range(1,4))", {"distribution": "int_uniform", "min": 1, "max": 3}),
    ("interval(0.1,0.5)", {"distribution": "uniform", "min": 0.1, "max": 0.5}),
    ("interval(1,8)", {"distribution": "uniform", "min": 1.0, "max": 8.0}),
    ("int(interval(1,8))", {"distribution": "int_uniform", "min": 1, "max": 8}),
    # a tag naming a W&B distribution (the older captain-pool sweeper's grammar)
    ("tag(normal, interval(0, 1))", {"distribution": "normal", "mu": 0.0, "sigma": 1.0}),
    ("tag(normal, interval(5, 2))", {"distribution": "normal", "mu": 5.0, "sigma": 2.0}),
    ("tag(log_uniform, interval(-5, 0))", {"distribution": "log_uniform", "min": -5.0, "max": 0.0}),
    (
        "tag(log_uniform_values, interval(1e-4, 1e-1))",
        {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    ),
    (
        "tag(q_uniform, interval(0, 10))",
        {"distribution": "q_uniform", "min": 0.0, "max": 10.0, "q": 1.0},
    ),
    ("tag(beta, interval(2, 5))", {"distribution": "beta", "a": 2.0, "b": 5.0}),
    (
        "tag(q_log_normal, interval(0, 1))",
        {"distribution": "q_log_normal", "mu": 0.0, "sigma": 1.0, "q": 1.0},
    ),
    (
        "tag(log, interval(1e-4,1e-1))",
        {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1},
    ),
    ("tag(log,interval(1,8))", {"distribution": "log_uniform_values", "min": 1.0, "max": 8.0}),
    (
        "tag(log, int(interval(8,256)))",
        {"distribution": "q_log_uniform_values", "min": 8, "max": 256, "q": 1},
    ),
    ("0.01", {"distribution": "constant", "value": 0.01}),
    ("cnn_tcn", {"distribution": "constant", "value": "cnn_tcn"}),
    ("[1,2]", {"distribution": "constant", "value": [1, 2]}),
    ("'1e-3'", {"distribution": "constant", "value": "1e-3"}),
    ("null", {"distribution": "constant", "value": None}),
    ("", {"distribution": "constant", "value": ""}),
]


@pytest.mark.parametrize(("text", "expected"), HYDRA_SWEEPS)
def test_hydra_sweep_string_becomes_canonical(text: str, expected: dict[str, Any]) -> None:
    results = [spec(text)]
    if expected["distribution"] != "constant":  # on the command line a constant fixes the key
        results.append(space({}, (f"x={text}",)).parameters[0].spec)
    for result in results:
        assert result == expected
        assert [type(v) for v in result.values()] == [type(v) for v in expected.values()]
        if "values" in expected:
            assert [type(v) for v in result["values"]] == [type(v) for v in expected["values"]]


def test_hydra_string_and_wandb_dict_agree() -> None:
    assert spec("tag(log, interval(1e-5, 1e-1))") == spec(
        {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}
    )
    assert spec("cnn_tcn,cnn_bilstm") == spec({"values": ["cnn_tcn", "cnn_bilstm"]})


HYDRA_ERRORS = [
    ("interval(0.5,0.1)", ["interval start 0.5", "end 0.1"]),
    ("int(interval(3,3))", ["interval start 3", "end 3"]),
    ("tag(log, interval(0,1))", ["above 0", "0.0"]),
    ("tag(log, int(interval(-2,8)))", ["above 0", "-2"]),
    ("tag(log, choice(1,2))", ["interval(...) only", "choice"]),
    ("tag(log, range(1,5))", ["interval(...) only", "range"]),
    ("tag(mine, choice(a,b))", ["tag(mine, ...)", "choice", "categorical"]),
    ("tag(normal, range(1,5))", ["tag(normal, ...)", "range"]),
    ("tag(nrmal, interval(0,1))", ["unknown tag 'nrmal'", "Did you mean 'normal'?"]),
    ("tag(mine, interval(0,1))", ["unknown tag 'mine'", "log", "normal"]),
    ("tag(normal, uniform, interval(0,1))", ["normal, uniform", "keep one"]),
    ("tag(log, normal, interval(1,2))", ["log, normal", "keep one"]),
    ("tag(normal, interval(0,-1))", ["sigma"]),
    ("range(5,1)", ["range(start=5, stop=1, step=1) is empty"]),
    ("range(1,5,0)", ["invalid range", "step=0"]),
    ("range(0,1000,0.001)", [f"more than {MAX_GRID_SIZE}", "interval"]),
    ("glob(*)", ["glob(...)", "'model.dropout' is not a config group"]),
    ("a,${b}", ["'${b}'", "interpolation"]),
    ("${b}", ["'${b}'", "interpolation"]),
    ("[a,'${b}']", ["'${b}'", "interpolation"]),
    ("interval(", ["cannot parse", "interval("]),
    ("a,,b", ["cannot parse", "a,,b"]),
    ("choice()", ["cannot parse"]),
]


@pytest.mark.parametrize(("text", "fragments"), HYDRA_ERRORS)
def test_bad_hydra_sweep_string_is_explained(text: str, fragments: list[str]) -> None:
    message = config_error(text, key="model.dropout")
    for fragment in fragments:
        assert fragment in message
    if not text.startswith(("${", "[")):  # a plain value on the command line is just fixed
        with pytest.raises(SweepConfigError) as from_cli:
            space({}, (f"model.dropout={text}",))
        assert from_cli.value.key == f"model.dropout={text}"
