"""Another sweeper's config, rewritten for this one: a W&B sweep file (what ``wandb sweep``
reads), a Hydra config for hydra-optuna-sweeper, or one for the older captain-pool
hydra-wandb-sweeper.

Pure: a parsed YAML document in, the config document to write and a note for each key that
did not carry over as it was out. ``hydra-wandb-sweeper translate`` reads and writes the files.
The mappings are the migration guides' tables (docs/from-optuna.md, docs/from-captain-pool.md,
docs/wandb-cli.md), so that a translated file and a hand-migrated one read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from hydra_wandb_sweeper.sweep.settings import FOREIGN_KEYS, KNOWN_KEYS

WANDB_FILE = "W&B sweep file"
OPTUNA = "hydra-optuna-sweeper config"
CAPTAIN_POOL = "captain-pool hydra-wandb-sweeper config"

# The keys of a W&B sweep file, each a setting of the same name here.
_WANDB_FILE_KEYS = (
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "name",
    "description",
    "project",
    "entity",
    "program",
    "command",
)
# Optuna sampler class (or hydra-optuna-sweeper's sampler group option) -> method here, the
# bayes model, and what the user should know when it is not the same algorithm.
_SAMPLERS: dict[str, tuple[str, str | None, str | None]] = {
    "TPESampler": ("bayes", "tpe", None),
    "tpe": ("bayes", "tpe", None),
    "GPSampler": ("bayes", "gp", None),
    "gp": ("bayes", "gp", None),
    "RandomSampler": ("random", None, None),
    "random": ("random", None, None),
    "GridSampler": ("grid", None, None),
    "grid": ("grid", None, None),
    "QMCSampler": ("random", None, "no quasi-Monte Carlo sampler here: method random"),
    "qmc": ("random", None, "no quasi-Monte Carlo sampler here: method random"),
    "CmaEsSampler": ("bayes", "gp", "no CMA-ES here: method bayes (a Gaussian process)"),
    "cmaes": ("bayes", "gp", "no CMA-ES here: method bayes (a Gaussian process)"),
}
_MULTI_OBJECTIVE = ("NSGAIISampler", "NSGAIIISampler", "MOTPESampler", "nsgaii", "motpe")
_OPTUNA_KEYS = ("direction", "study_name", "n_trials", "sampler", "search_space")


class NotTranslatable(ValueError):
    """The document is none of the configs this module knows, or is already ours."""


@dataclass(frozen=True)
class Translation:
    kind: str  # which sweeper's config it was (WANDB_FILE, OPTUNA or CAPTAIN_POOL)
    document: dict[str, Any]  # the Hydra config to write
    package_global: bool  # written for a config group: `# @package _global_` at its top
    notes: tuple[str, ...]  # each key not carried over as it was, and why


def translate(document: Any, *, package_global: bool = False) -> Translation:
    """``package_global``: the source file starts with ``# @package _global_`` (a config group
    file such as lightning-hydra-template's ``hparams_search/``); a W&B sweep file always
    becomes one."""
    if not isinstance(document, Mapping):
        raise NotTranslatable(
            f"expected a YAML mapping (a W&B sweep file or a Hydra config), got {document!r}"
        )
    sweeper = _sweeper_block(document)
    if sweeper is None:
        if not any(key in document for key in ("parameters", "method")):
            raise NotTranslatable(
                "found neither hydra.sweeper (a Hydra config) nor method/parameters at the "
                "top (a W&B sweep file)"
            )
        return _from_wandb_file(document)
    if "wandb_sweep_config" in sweeper:
        return _from_hydra_config(document, sweeper, CAPTAIN_POOL, package_global)
    if _names_optuna(document, sweeper):
        return _from_hydra_config(document, sweeper, OPTUNA, package_global)
    unknown = sorted(str(key) for key in sweeper if key not in KNOWN_KEYS and key != "_target_")
    if unknown:
        raise NotTranslatable(
            f"hydra.sweeper has keys of no sweeper this command knows ({', '.join(unknown)}): "
            "expected a hydra-optuna-sweeper or captain-pool config"
        )
    raise NotTranslatable(
        "hydra.sweeper already holds this sweeper's settings: select it with "
        "hydra/sweeper=wandb (or `override /hydra/sweeper: wandb` in the defaults list)"
    )


def render(translation: Translation, source: str) -> str:
    """The file's text: a header that says where it came from and what did not carry over,
    then the config."""
    lines = ["# @package _global_"] if translation.package_global else []
    lines.append(f"# Translated from {source} (a {translation.kind}) by hydra-wandb-sweeper.")
    if translation.notes:
        lines.append("# Not carried over as it was:")
        lines += [f"#   - {note}" for note in translation.notes]
    body = yaml.safe_dump(
        translation.document, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return "\n".join(lines) + "\n" + body


# --- the three sources ----------------------------------------------------------------
def _from_wandb_file(document: Mapping[str, Any]) -> Translation:
    notes: list[str] = []
    settings: dict[str, Any] = {}
    for key, value in document.items():
        if key in _WANDB_FILE_KEYS:
            settings[str(key)] = value
        else:
            notes.append(f"{key}: not a key of a W&B sweep file; left out")
    return Translation(
        kind=WANDB_FILE,
        document={
            "defaults": [{"override /hydra/sweeper": "wandb"}],
            "hydra": {"sweeper": settings},
        },
        package_global=True,
        notes=tuple(notes),
    )


def _from_hydra_config(
    document: Mapping[str, Any], sweeper: Mapping[str, Any], kind: str, package_global: bool
) -> Translation:
    notes: list[str] = []
    defaults, sampler_choice = _defaults(document.get("defaults"), package_global)
    if kind == OPTUNA:
        settings = _optuna_settings(document, sweeper, sampler_choice, notes)
    else:
        settings = _captain_pool_settings(sweeper, notes)
    hydra = {key: value for key, value in document["hydra"].items() if key != "sweeper"}
    hydra["sweeper"] = settings
    out: dict[str, Any] = {"defaults": defaults}
    for key, value in document.items():
        if key not in ("defaults", "hydra"):
            out[str(key)] = value
        elif key == "hydra":
            out["hydra"] = hydra
    return Translation(kind, out, package_global, tuple(notes))


def _optuna_settings(
    document: Mapping[str, Any],
    sweeper: Mapping[str, Any],
    sampler_choice: str | None,
    notes: list[str],
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    sampler = sweeper.get("sampler")
    sampler_name = sampler_choice
    if isinstance(sampler, Mapping) and isinstance(sampler.get("_target_"), str):
        sampler_name = sampler["_target_"].rsplit(".", 1)[-1]
    settings.update(_method(sampler_name or "tpe", notes))
    # the task returns what Optuna optimizes: a float is recorded under any metric name, and
    # lightning-hydra-template names its metric in optimized_metric
    metric_name = document.get("optimized_metric")
    if not isinstance(metric_name, str):
        metric_name = "objective"
        notes.append(
            "metric.name: objective, the name the float the task returns is recorded under; "
            "when the task returns a dict, name the key to optimize instead"
        )
    goal = _goal(sweeper.get("direction", "minimize"), notes)
    settings["metric"] = {"name": metric_name, "goal": goal}
    for key, value in sweeper.items():
        where = f"hydra.sweeper.{key}"
        if key in ("_target_", "direction"):
            continue
        if key == "sampler":
            settings.update(_sampler_options(value, settings["method"], notes))
        elif key == "params":
            settings["parameters"] = value
        elif key == "search_space":
            settings["parameters"] = _old_search_space(value, notes)
        elif key == "n_trials":
            if value is not None:
                settings["count"] = value
        elif key == "study_name":
            if value is not None:
                settings["name"] = value
        elif key in ("storage", "n_jobs", "max_failure_rate"):
            if value is not None:
                settings[key] = value
        elif key == "custom_search_space":
            notes.append(f"{where}: {FOREIGN_KEYS[key]}")
        else:
            notes.append(f"{where}: no equivalent here; left out")
    return settings


def _captain_pool_settings(sweeper: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    renamed = {"num_agents": "agents", "budget": "run_cap"}
    config = sweeper.get("wandb_sweep_config") or {}
    for key, value in config.items():
        where = f"hydra.sweeper.wandb_sweep_config.{key}"
        if key in renamed:
            settings[renamed[key]] = value
        elif key in ("tags", "notes"):
            notes.append(f"{where}: {FOREIGN_KEYS[key]}")
        elif key in KNOWN_KEYS:
            settings[str(key)] = value
        else:
            notes.append(f"{where}: no equivalent here; left out")
    for key, value in sweeper.items():
        if key in ("_target_", "wandb_sweep_config"):
            continue
        if key == "params":
            settings["parameters"] = value
        elif key in KNOWN_KEYS:
            settings[str(key)] = value
        else:
            notes.append(f"hydra.sweeper.{key}: no equivalent here; left out")
    return settings


# --- pieces ---------------------------------------------------------------------------
def _sweeper_block(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    hydra = document.get("hydra")
    sweeper = hydra.get("sweeper") if isinstance(hydra, Mapping) else None
    return sweeper if isinstance(sweeper, Mapping) else None


def _names_optuna(document: Mapping[str, Any], sweeper: Mapping[str, Any]) -> bool:
    target = sweeper.get("_target_")
    if isinstance(target, str) and "optuna" in target.lower():
        return True
    if any(key in sweeper for key in _OPTUNA_KEYS):
        return True
    return any(
        _defaults_group(entry) == "hydra/sweeper" and _defaults_option(entry) == "optuna"
        for entry in document.get("defaults") or []
    )


def _defaults(entries: Any, package_global: bool) -> tuple[list[Any], str | None]:
    """The defaults list with the sweeper swapped for this one and Optuna's sampler group
    taken out (its option is returned: it becomes method and bayes_sampler)."""
    out: list[Any] = []
    sampler: str | None = None
    swapped = False
    for entry in entries or []:
        group = _defaults_group(entry)
        if group == "hydra/sweeper":
            key = next(iter(entry))
            out.append({key: "wandb"})
            swapped = True
        elif group == "hydra/sweeper/sampler":
            sampler = str(_defaults_option(entry))
        else:
            out.append(entry)
    if not swapped:
        out.insert(
            0,
            {("override /hydra/sweeper" if package_global else "override hydra/sweeper"): "wandb"},
        )
    return out, sampler


def _defaults_group(entry: Any) -> str | None:
    """``hydra/sweeper`` for ``{"override /hydra/sweeper": "optuna"}`` and its spellings."""
    if not isinstance(entry, Mapping) or len(entry) != 1:
        return None
    key = str(next(iter(entry)))
    return key.removeprefix("override ").strip().lstrip("/").removesuffix("@_global_") or None


def _defaults_option(entry: Any) -> Any:
    return next(iter(entry.values())) if isinstance(entry, Mapping) and entry else None


def _method(sampler: str, notes: list[str]) -> dict[str, Any]:
    if sampler in _MULTI_OBJECTIVE:
        notes.append(
            f"sampler {sampler}: several objectives have no equivalent (a W&B sweep "
            "optimizes one metric); method bayes"
        )
        return {"method": "bayes"}
    unknown = ("bayes", None, "not a sampler this sweeper knows; method bayes")
    method, model, note = _SAMPLERS.get(sampler, unknown)
    if note:
        notes.append(f"sampler {sampler}: {note}")
    return {"method": method, **({"bayes_sampler": model} if model else {})}


def _sampler_options(sampler: Any, method: str, notes: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if not isinstance(sampler, Mapping):
        return settings
    for key, value in sampler.items():
        where = f"hydra.sweeper.sampler.{key}"
        if key == "_target_":
            continue
        if key == "seed":
            if value is not None:
                settings["seed"] = value
        elif key == "n_startup_trials" and method == "bayes":
            settings["bayes_startup_trials"] = value
        else:
            notes.append(f"{where}: no equivalent here; left out")
    return settings


def _goal(direction: Any, notes: list[str]) -> str:
    if isinstance(direction, list):
        notes.append(
            f"hydra.sweeper.direction: {direction} is several objectives; a W&B sweep "
            f"optimizes one metric: kept the first ({direction[0]}); return a dict and name "
            "the one to optimize in metric.name"
        )
        direction = direction[0]
    return "maximize" if str(direction).lower() == "maximize" else "minimize"


def _old_search_space(space: Any, notes: list[str]) -> dict[str, Any]:
    """hydra-optuna-sweeper 1.1's ``search_space`` (Optuna distribution dicts) as W&B's
    parameter dicts."""
    parameters: dict[str, Any] = {}
    for name, spec in (space or {}).items():
        if not isinstance(spec, Mapping):
            parameters[str(name)] = spec
            continue
        kind = spec.get("type")
        if kind == "categorical":
            parameters[str(name)] = {"values": list(spec.get("choices", []))}
            continue
        low, high, step, log = spec.get("low"), spec.get("high"), spec.get("step"), spec.get("log")
        if kind == "int" and not log and step in (None, 1):
            parameters[str(name)] = {"distribution": "int_uniform", "min": low, "max": high}
        elif log:
            parameters[str(name)] = {"distribution": "log_uniform_values", "min": low, "max": high}
        elif step is not None:
            parameters[str(name)] = {
                "distribution": "q_uniform",
                "min": low,
                "max": high,
                "q": step,
            }
        else:
            parameters[str(name)] = {"distribution": "uniform", "min": low, "max": high}
        if kind == "int" and (log or step not in (None, 1)):
            notes.append(
                f"hydra.sweeper.search_space.{name}: an integer drawn on a log scale or a step is a float here"
            )
    return parameters
