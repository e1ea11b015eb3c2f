"""Sweeps made straight on the embedded engine, without Hydra, for the engine's own tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra_wandb_sweeper.engine.base import SweepDefinition
from hydra_wandb_sweeper.searchspace.space import build_search_space, canonical_spec


def definition(
    method: str, parameters: Mapping[str, Any], run_cap: int | None = None
) -> SweepDefinition:
    return SweepDefinition(
        method=method,
        metric_name=None,
        goal="minimize",
        target=None,
        parameters=tuple(
            (key, key, canonical_spec(key, spec, where="")) for key, spec in parameters.items()
        ),
        run_cap=run_cap,
    )


def space_definition(
    method: str, parameters: Mapping[str, Any], metric: str | None = None
) -> SweepDefinition:
    """A sweep definition from parameters written as under ``hydra.sweeper.parameters``,
    ``when:`` conditions included."""
    space = build_search_space(parameters, [])
    return SweepDefinition(
        method=method,
        metric_name=metric,
        goal="minimize",
        target=None,
        parameters=tuple((p.key, p.wandb_name, dict(p.spec)) for p in space.parameters),
        conditions={p.key: dict(p.when) for p in space.parameters if p.when},
    )
