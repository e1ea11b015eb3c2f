"""Opening a sweep: create it from the settings and the command line, or join a stored one.

Everything a user can get wrong is checked here, before any trial starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hydra.core.object_type import ObjectType
from omegaconf import DictConfig

from hydra_wandb_sweeper.engine.base import Engine, SweepDefinition, stored_parameters
from hydra_wandb_sweeper.engine.cloud.opening import create_cloud_sweep, join_cloud_sweep
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.hydra_grammar import GroupOptions
from hydra_wandb_sweeper.searchspace.method import choose_method_name, validate_method
from hydra_wandb_sweeper.searchspace.space import SearchSpace, build_search_space
from hydra_wandb_sweeper.searchspace.validation import (
    check_against_config,
    infer_group_conditions,
)
from hydra_wandb_sweeper.sweep.commands import program, this_command_line
from hydra_wandb_sweeper.sweep.settings import SweepSettings

log = logging.getLogger(__name__)


def open_sweep(
    settings: SweepSettings, arguments: Sequence[str], config_loader: Any, config: DictConfig
) -> tuple[Engine, SearchSpace]:
    from hydra_wandb_sweeper.engine.local.engine import LocalEngine

    cloud = settings.engine == "wandb"
    if settings.sweep_id is not None and cloud:
        joined: Engine = join_cloud_sweep(settings, arguments, config, config_loader)
        return joined, _stored_space(joined.definition, arguments, config_loader)
    if settings.sweep_id is not None:
        engine = _join_local(settings)
        _require_an_end(engine.definition.method, settings.count, engine.definition.run_cap)
        log.info(f"Joined sweep {engine.sweep_id}: its stored method and search space apply")
        return engine, _stored_space(engine.definition, arguments, config_loader)

    space = build_search_space(
        settings.parameters, arguments, group_options=_group_options(config_loader)
    )
    method = choose_method(settings, space)
    if not space.parameters and method != "grid":
        raise SweepConfigError(
            "hydra.sweeper.parameters",
            f"the search space is empty, so method {method} has nothing to search: add "
            "parameters under hydra.sweeper.parameters or sweep overrides on the command "
            "line (model=a,b), or drop the method to run one job",
        )
    validate_method(space, method, settings.metric, settings.early_terminate)
    if not cloud:
        _say_what_only_wandb_reads(settings.metric)
    # a W&B agent may run until the sweep is stopped on the server; count=0 runs nothing here
    if not cloud and settings.count != 0:
        _require_an_end(method, settings.count, settings.run_cap, chosen=settings.method is None)
    space, notes = infer_group_conditions(config_loader, config, space)
    for note in notes:
        log.info(note)
    check_against_config(config_loader, config, space)
    if cloud:
        if not space.parameters:
            raise SweepConfigError(
                "hydra.sweeper.parameters",
                "a W&B sweep needs at least one parameter; add one, or run the job alone",
            )
        definition = _definition(settings, space, method)
        line = this_command_line(config)
        return create_cloud_sweep(settings, definition, config, line, space.fixed_overrides), space
    engine = LocalEngine.create(
        settings.storage,
        _definition(settings, space, method),
        seed=settings.seed,
        bayes=(settings.bayes_sampler, settings.bayes_startup_trials),
    )
    return engine, space


def _join_local(settings: SweepSettings) -> Any:
    """Join a stored sweep; ``ENTITY/PROJECT/ID`` (a W&B sweep's path, as W&B prints it) is
    taken as the local id ``ID`` when the storage holds it, else refused with the reason."""
    from hydra_wandb_sweeper.engine.local.engine import LocalEngine

    given = str(settings.sweep_id)
    sweep_id = given.rstrip("/").rsplit("/", 1)[-1]
    try:
        engine = LocalEngine.join(
            settings.storage,
            sweep_id,
            seed=settings.seed,
            bayes=(settings.bayes_sampler, settings.bayes_startup_trials),
        )
    except SweepConfigError as error:
        if sweep_id == given:
            raise
        raise SweepConfigError(
            "hydra.sweeper.sweep_id",
            f"got {given!r}, a W&B sweep path (ENTITY/PROJECT/ID); the local engine names its "
            f"sweeps by their id alone, and {error.message[0].lower()}{error.message[1:]}. "
            "To join the sweep on W&B, set hydra.sweeper.engine=wandb",
        ) from None
    if sweep_id != given:
        log.info(
            f"hydra.sweeper.sweep_id {given!r}: the local engine names its sweeps by their id "
            f"alone, so this joins the local sweep {sweep_id}"
        )
    return engine


def choose_method(settings: SweepSettings, space: SearchSpace) -> str:
    """The method given, or grid or random as :func:`choose_method_name` decides, said once."""
    if settings.method is not None:
        return str(settings.method)
    method = choose_method_name(space, settings.metric)
    if not space.parameters:
        log.info("No search space: one job, as Hydra's basic sweeper runs")
    elif method == "grid":
        log.info("hydra.sweeper.method is not set: grid, since every parameter is discrete")
    return method


def _definition(settings: SweepSettings, space: SearchSpace, method: str) -> SweepDefinition:
    metric = settings.metric or {}
    target = metric.get("target")
    return SweepDefinition(
        method=method,
        metric_name=metric.get("name"),
        goal=str(metric.get("goal") or "minimize"),
        target=None if target is None else float(target),
        parameters=tuple((p.key, p.wandb_name, dict(p.spec)) for p in space.parameters),
        early_terminate=settings.early_terminate,
        run_cap=settings.run_cap,
        name=settings.name,
        description=settings.description,
        program=program(),
        conditions={
            p.key: {name: list(values) for name, values in p.when.items()}
            for p in space.parameters
            if p.when
        },
    )


def _stored_space(
    definition: SweepDefinition, arguments: Sequence[str], config_loader: Any
) -> SearchSpace:
    """The sweep's stored search space, with this process's plain overrides.

    A plain override that fixes a stored parameter cannot apply: every trial of the sweep
    draws that parameter. It is refused rather than silently overridden by the trial value.
    """
    stored = {key.lstrip("+"): spec for key, _, spec in definition.parameters}
    given = build_search_space({}, arguments, group_options=_group_options(config_loader))
    differing = [p.key for p in given.parameters if stored.get(p.key.lstrip("+")) != dict(p.spec)]
    if differing:
        log.warning(
            "A joined sweep keeps its stored search space; these command-line sweep overrides "
            "differ from it and are ignored: " + ", ".join(differing)
        )
    for line in given.fixed_overrides:
        key = line.split("=", 1)[0].lstrip("+~")
        if key in stored:
            raise SweepConfigError(
                line,
                f"the joined sweep searches {key!r}, so a fixed value cannot apply to its "
                "trials. Drop it from the command line, or start a new sweep without sweep_id",
            )
    return SearchSpace(stored_parameters(definition), given.fixed_overrides, given.fixed_positions)


def _group_options(config_loader: Any) -> GroupOptions:
    """A config group's options, as Hydra's basic sweeper expands ``glob(...)`` with."""

    def options(group: str) -> list[str]:
        return list(config_loader.get_group_options(group, results_filter=ObjectType.CONFIG))

    return options


def _say_what_only_wandb_reads(metric: Mapping[str, Any] | None) -> None:
    """W&B's impute settings are kept (a pasted sweep file runs as it is, and a published
    sweep carries them), but the local engine has no use for them: said, not silently ignored."""
    given = [
        f"metric.{key}"
        for key in ("impute", "impute_while_running")
        if (metric or {}).get(key) is not None
    ]
    if given:
        log.warning(
            f"hydra.sweeper.{' and '.join(given)}: W&B's server reads "
            f"{'them' if len(given) > 1 else 'it'} (engine: wandb); the local engine has no use "
            "for it: a trial that reports no metric fails there"
        )


def _require_an_end(
    method: str, count: int | None, run_cap: int | None, *, chosen: bool = False
) -> None:
    if method in ("random", "bayes") and count is None and run_cap is None:
        why = (
            " (hydra.sweeper.method is not set, and grid needs discrete parameters and no metric)"
            if chosen
            else ""
        )
        raise SweepConfigError(
            "hydra.sweeper.count",
            f"method {method}{why} never ends by itself: set hydra.sweeper.count "
            "(trials this process runs) or hydra.sweeper.run_cap (trials in the whole sweep)"
            + (", or hydra.sweeper.method=grid" if chosen else ""),
        )
