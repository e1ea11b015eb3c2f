"""A trial as a Hydra experiment config: ``python train.py +experiment=NAME`` composes exactly
the config the trial's job ran with.

The file is what a person would write (lightning-hydra-template's ``experiment/`` configs):
``# @package _global_``, the trial's config-group choices as ``override /group: option``
defaults, and the values that differ from what those choices compose, as keys. It is found
by composing, not by reading the override strings: a ``sweep=...`` config that sets values
or other groups, ``+key`` additions and interpolations all come out right, and the written
file is composed once more and compared with the trial's config before it is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from hydra_wandb_sweeper.engine.table import InspectError

# Groups whose choice is not part of what a trial trains: Hydra's own, and the app's
# `sweep` group (a search space; its effect on the job's config is kept as values).
DROPPED_GROUPS = ("sweep",)


def write_experiment(
    overrides: Sequence[str],
    config_dir: Path,
    name: str,
    *,
    config_name: str = "config",
    header: str = "",
    dropped_groups: Sequence[str] = DROPPED_GROUPS,
) -> Path:
    """Write ``<config_dir>/experiment/<name>.yaml`` for a trial's overrides; return its path."""
    config_dir = config_dir.resolve()
    if not (config_dir / f"{config_name}.yaml").is_file():
        raise InspectError(
            f"--config-dir: no {config_name}.yaml in {config_dir}; pass the folder of the "
            "config your script composes (its @hydra.main config_path)"
        )
    trial = _compose(config_dir, config_name, overrides)
    base_choices = _choices(_compose(config_dir, config_name, []))
    groups = {
        group: option
        for group, option in _choices(trial).items()
        if option is not None
        and not group.startswith("hydra/")
        and group not in (*dropped_groups, "experiment")
        and base_choices.get(group, "<absent>") != option
    }
    group_overrides = [
        f"{group}={option}" if group in base_choices else f"+{group}={option}"
        for group, option in groups.items()
    ]
    chosen = _job_config(_compose(config_dir, config_name, group_overrides))
    values = _differences(_job_config(trial), chosen)
    path = config_dir / "experiment" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    defaults = [
        {f"override /{g}" if g in base_choices else f"/{g}": option} for g, option in groups.items()
    ]
    document: dict[str, Any] = {}
    if defaults:
        document["defaults"] = defaults
    document.update(values)
    text = "# @package _global_\n" + "".join(f"# {line}\n" for line in header.splitlines())
    path.write_text(text + (yaml.safe_dump(document, sort_keys=False) if document else ""))
    exported = _job_config(_compose(config_dir, config_name, [f"+experiment={name}"]))
    if exported != _job_config(trial):
        path.unlink()
        keys = sorted(_differences(_job_config(trial), exported)) or ["(deleted keys)"]
        raise InspectError(
            f"the trial's config cannot be written as an experiment (differs at {', '.join(keys)})"
        )
    return path


def _compose(config_dir: Path, config_name: str, overrides: Sequence[str]) -> DictConfig:
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            return compose(config_name, overrides=list(overrides), return_hydra_config=True)
    except Exception as error:  # Hydra's own message names the override that failed
        raise InspectError(f"cannot compose {config_dir}/{config_name}.yaml: {error}") from None


def _choices(config: DictConfig) -> dict[str, Any]:
    return dict(OmegaConf.to_container(config.hydra.runtime.choices))  # type: ignore[arg-type]


def _job_config(config: DictConfig) -> dict[str, Any]:
    """The job's config without the ``hydra`` node, interpolations kept as written."""
    container = OmegaConf.to_container(config, resolve=False)
    assert isinstance(container, dict)
    container.pop("hydra", None)
    return cast(dict[str, Any], container)


def _differences(wanted: Mapping[str, Any], have: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of ``wanted`` that ``have`` lacks or holds differently, nested as in ``wanted``."""
    found: dict[str, Any] = {}
    for key, value in wanted.items():
        if key not in have:
            found[key] = value
        elif isinstance(value, Mapping) and isinstance(have[key], Mapping):
            nested = _differences(value, have[key])
            if nested:
                found[key] = nested
        elif value != have[key] or type(value) is not type(have[key]):
            found[key] = value
    return found
