"""Opening a sweep on the W&B server (``engine: wandb``): create it, or join it by id.

The search space was checked as for the local engine before anything is created; a
joined sweep's W&B config is read back into Hydra keys with the name map this process's
own ``hydra.sweeper`` config gives (``+experiment`` is W&B's ``experiment``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig

from hydra_wandb_sweeper.engine.base import SweepDefinition, stored_parameters
from hydra_wandb_sweeper.engine.cloud.engine import CloudEngine
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.space import SearchSpace, build_search_space
from hydra_wandb_sweeper.searchspace.validation import infer_group_conditions

log = logging.getLogger(__name__)


class CloudSettings(Protocol):
    """The ``hydra.sweeper`` settings the cloud engine reads (the sweep loop's settings)."""

    @property
    def sweep_id(self) -> str | None: ...
    @property
    def project(self) -> str | None: ...
    @property
    def entity(self) -> str | None: ...
    @property
    def program(self) -> str | None: ...
    @property
    def command(self) -> Sequence[Any] | None: ...
    @property
    def parameters(self) -> Mapping[str, Any]: ...
    @property
    def server_retry_seconds(self) -> float: ...
    @property
    def stop_grace_seconds(self) -> float: ...


class LaunchLine(Protocol):
    """How this sweep was launched, as one run of it re-launches it (the sweep loop's
    ``CommandLine``): the program, Hydra's config flags, the overrides a single run keeps."""

    @property
    def typed_flags(self) -> Sequence[str]: ...
    @property
    def run_overrides(self) -> Sequence[str]: ...
    def portable_program(self) -> Sequence[str]: ...


def state_dir(config: DictConfig) -> Path:
    """Where agents and jobs exchange stop requests and results: in the sweep folder, which
    every launcher's jobs (a submitit job on another node too) can see."""
    return Path(config.hydra.runtime.cwd) / Path(config.hydra.sweep.dir) / ".wandb-sweep"


def create_cloud_sweep(
    settings: CloudSettings,
    definition: SweepDefinition,
    config: DictConfig,
    line: LaunchLine,
    fixed_overrides: Sequence[str] = (),
) -> CloudEngine:
    _warn_if_runs_stay_offline()
    program, command = agent_command(settings, line, fixed_overrides)
    return CloudEngine.create(
        definition,
        project=settings.project,
        entity=settings.entity,
        program=program,
        command=command,
        state_dir=state_dir(config),
        retry_seconds=settings.server_retry_seconds,
        stop_grace_seconds=settings.stop_grace_seconds,
    )


def agent_command(
    settings: CloudSettings, line: LaunchLine, fixed_overrides: Sequence[str] = ()
) -> tuple[str | None, list[Any] | None]:
    """``program`` and ``command`` of the W&B sweep, for W&B's own ``wandb agent``: the ones
    in ``hydra.sweeper`` (a pasted sweep file), else this experiment as one run of it: this
    app, Hydra's config flags, the Hydra overrides a single run keeps, the command line's
    fixed overrides (``sweep=``, ``data=digits``), then the run's ``key=value``s. So an agent
    started in the launch folder of a copy of the project composes the config our trials do.
    """
    if settings.program is not None or settings.command is not None:
        return settings.program, None if settings.command is None else list(settings.command)
    launched = list(line.portable_program())
    run = [*line.typed_flags, *line.run_overrides, *fixed_overrides, "${args_no_hyphens}"]
    if launched[:1] == ["-m"]:
        return None, ["${env}", "${interpreter}", *launched, *run]
    return launched[0], ["${env}", "${interpreter}", "${program}", *run]


def join_cloud_sweep(
    settings: CloudSettings,
    arguments: Sequence[str],
    config: DictConfig,
    config_loader: Any = None,
) -> CloudEngine:
    assert settings.sweep_id is not None
    _warn_if_runs_stay_offline()

    def definition_of(wandb_config: Mapping[str, Any]) -> SweepDefinition:
        definition = definition_from_wandb(wandb_config, *_hydra_keys(settings, arguments))
        if config_loader is None:
            return definition
        return _with_group_conditions(definition, arguments, config_loader, config)

    engine = CloudEngine.join(
        settings.sweep_id,
        project=settings.project,
        entity=settings.entity,
        definition_of=definition_of,
        state_dir=state_dir(config),
        retry_seconds=settings.server_retry_seconds,
        stop_grace_seconds=settings.stop_grace_seconds,
    )
    log.info(f"Joined W&B sweep {engine.sweep_id}: the server's method and search space apply")
    return engine


def definition_from_wandb(
    wandb_config: Mapping[str, Any],
    hydra_keys: Mapping[str, str],
    conditions: Mapping[str, Mapping[str, list[Any]]] | None = None,
) -> SweepDefinition:
    """A W&B sweep config as a definition; ``hydra_keys`` maps W&B names to Hydra keys.
    W&B keeps no conditions: a joining process brings them from its own ``when:``."""
    space = build_search_space(
        wandb_config.get("parameters") or {}, [], where="the W&B sweep's parameters"
    )
    metric = wandb_config.get("metric") or {}
    if not isinstance(metric, Mapping):
        raise SweepConfigError("the W&B sweep's metric", f"got {metric!r}, expected a mapping")
    target = metric.get("target")
    return SweepDefinition(
        method=str(wandb_config.get("method", "random")),
        metric_name=metric.get("name"),
        goal=str(metric.get("goal") or "minimize"),
        target=None if target is None else float(target),
        parameters=tuple(
            (hydra_keys.get(p.wandb_name, p.key), p.wandb_name, dict(p.spec))
            for p in space.parameters
        ),
        early_terminate=wandb_config.get("early_terminate"),
        run_cap=wandb_config.get("run_cap"),
        name=wandb_config.get("name"),
        description=wandb_config.get("description"),
        conditions={key: dict(when) for key, when in (conditions or {}).items()},
    )


def _with_group_conditions(
    definition: SweepDefinition, arguments: Sequence[str], config_loader: Any, config: DictConfig
) -> SweepDefinition:
    """W&B's server keeps no conditions: those the config groups state (a key only some
    options of a swept group have) are found again, as when the sweep was created."""
    fixed = build_search_space({}, arguments)
    space = SearchSpace(stored_parameters(definition), fixed.fixed_overrides, fixed.fixed_positions)
    space, notes = infer_group_conditions(config_loader, config, space)
    for note in notes:
        log.info(note)
    conditions = {
        p.key: {n: list(v) for n, v in p.when.items()} for p in space.parameters if p.when
    }
    return dataclasses.replace(definition, conditions=conditions)


def _hydra_keys(
    settings: CloudSettings, arguments: Sequence[str]
) -> tuple[dict[str, str], dict[str, dict[str, list[Any]]]]:
    """W&B name -> Hydra key, and the conditions, of this process's own search space."""
    try:
        space = build_search_space(settings.parameters, arguments)
    except SweepConfigError:
        return {}, {}  # the joined sweep's own names then serve as keys
    keys = {p.wandb_name: p.key for p in space.parameters}
    return keys, {
        p.key: {n: list(v) for n, v in p.when.items()} for p in space.parameters if p.when
    }


def _warn_if_runs_stay_offline() -> None:
    mode = os.environ.get("WANDB_MODE", "")
    if mode in ("offline", "disabled", "dryrun"):
        log.warning(
            f"WANDB_MODE={mode}: the trials' runs will not reach W&B while they run, so its "
            "bayes and hyperband see no metrics; unset WANDB_MODE for engine: wandb"
        )
