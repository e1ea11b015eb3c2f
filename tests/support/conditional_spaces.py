"""A conditional search space shaped like the app's three models, for several test suites."""

from __future__ import annotations

from typing import Any

MODELS: dict[str, Any] = {
    "model": {"values": ["tcn", "lstm", "mlp"]},
    "dropout": {"values": [0.1, 0.3]},
    "hidden": {"values": [32, 64, 128], "when": {"model": "lstm"}},
    "kernel": {"values": [3, 5, 7], "when": {"model": ["tcn", "lstm"]}},
    "levels": {"distribution": "int_uniform", "min": 2, "max": 5, "when": {"model": "tcn"}},
    "act": {"values": ["relu", "gelu"], "when": {"model": "mlp"}},
    "slope": {"values": [0.01, 0.1], "when": {"act": "relu"}},  # nested: mlp with relu
}
# Which parameters apply with each model (and activation)
ACTIVE = {
    ("tcn", None): {"model", "dropout", "kernel", "levels"},
    ("lstm", None): {"model", "dropout", "hidden", "kernel"},
    ("mlp", "relu"): {"model", "dropout", "act", "slope"},
    ("mlp", "gelu"): {"model", "dropout", "act"},
}
# Valid grid points: tcn 2*3*4, lstm 2*3*3, mlp 2*(2+1); the flattened product is 864.
GRID_POINTS = 24 + 18 + 6
FLAT_POINTS = 3 * 2 * 3 * 3 * 4 * 2 * 2


def expected_active(params: dict[str, Any]) -> set[str]:
    return ACTIVE[(params["model"], params.get("act"))]
