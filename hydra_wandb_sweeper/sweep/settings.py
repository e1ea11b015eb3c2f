"""The ``hydra.sweeper`` settings, checked and typed before any trial starts."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from hydra_wandb_sweeper.config import DEFAULT_STORAGE, WandbSweeperConf
from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import nearest
from hydra_wandb_sweeper.searchspace.space import plain

ENGINES = ("local", "wandb")
BAYES_SAMPLERS = ("gp", "gp_torch", "tpe")
KNOWN_KEYS = tuple(f.name for f in fields(WandbSweeperConf) if not f.name.startswith("_"))
# Settings of other sweepers people come from (Hydra's Optuna sweeper, captain-pool's
# hydra-wandb-sweeper), and what says the same here.
FOREIGN_KEYS = {
    "n_trials": "use count (trials this process runs) or run_cap (trials in the whole sweep)",
    "search_space": "the search space is hydra.sweeper.parameters",
    "custom_search_space": "no Python search-space function here: write conditions between "
    "parameters with when: under hydra.sweeper.parameters",
    "direction": "use metric.goal (minimize or maximize)",
    "study_name": "use name (the sweep's display name) or sweep_id (join a stored sweep)",
    "sampler": "use method (grid, random or bayes) and bayes_sampler (gp, gp_torch or tpe)",
    "wandb_sweep_config": "paste its keys (method, metric, parameters, ...) directly "
    "under hydra.sweeper",
    "num_agents": "use agents (processes that run the sweep side by side, like `wandb agent` "
    "started N times; trials_per_gpu gives each its GPU)",
    "budget": "use run_cap (trials in the whole sweep)",
    "tags": "a W&B sweep has no tags: set them on the runs, from the app (wandb.init(tags=...))",
    "notes": "a W&B sweep has no notes: use description, or set notes on the runs from the app",
}

TRANSLATE_HINT = (
    "`hydra-wandb-sweeper translate FILE` rewrites a config written for another sweeper "
    "(hydra-optuna-sweeper, captain-pool's, a W&B sweep file) for this one."
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSettings:
    engine: str
    method: Any
    metric: Mapping[str, Any] | None
    parameters: Mapping[str, Any]
    early_terminate: Mapping[str, Any] | None
    run_cap: int | None
    name: str | None
    description: str | None
    project: str | None
    entity: str | None
    sweep_id: str | None
    count: int | None
    n_jobs: int | None
    max_failure_rate: float
    storage: str
    seed: int | None
    bayes_sampler: str
    bayes_startup_trials: int
    stop_grace_seconds: float
    server_retry_seconds: float
    publish: bool
    # what W&B's CLI agent runs, from a pasted sweep file; kept for the cloud engine
    program: str | None
    command: tuple[Any, ...] | None
    agents: int
    trials_per_gpu: int | None
    trial_timeout_seconds: float | None


# Each setting's default, written once: in the config dataclass.
DEFAULTS = {f.name: f.default for f in fields(WandbSweeperConf) if f.default is not MISSING}


def _given(values: Mapping[str, Any], key: str) -> Any:
    """The value given for ``key``, else its default (the settings a test or an embedding
    program hands over may leave keys out)."""
    return values.get(key, DEFAULTS[key])


def _positive_int(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SweepConfigError(
            f"hydra.sweeper.{key}", f"got {value!r}, expected a positive integer"
        )
    return value


def _integer(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SweepConfigError(f"hydra.sweeper.{key}", f"got {value!r}, expected an integer")
    return value


def _text(key: str, value: Any) -> str | None:
    # a name written as a number (name=2024 on the command line) is that text
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise SweepConfigError(f"hydra.sweeper.{key}", f"got {value!r}, expected a string")


def _count(value: Any) -> int | None:
    """Trials this process runs; 0 creates (or joins) the sweep and prints how to start its
    agents, as ``wandb sweep`` does."""
    if value is None or (value == 0 and not isinstance(value, bool)):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SweepConfigError(
            "hydra.sweeper.count",
            f"got {value!r}, expected a positive integer (trials this process runs), "
            "or 0 to create the sweep and start its agents later",
        )
    return value


def _one_of(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value in allowed:
        return str(value)
    raise SweepConfigError(
        f"hydra.sweeper.{key}",
        f"got {value!r}, expected one of {', '.join(allowed)}.{nearest(str(value), allowed)}",
    )


def _bayes_sampler(value: Any) -> str:
    chosen = _one_of("bayes_sampler", value, BAYES_SAMPLERS)
    if chosen == "gp_torch" and not _torch_installed():
        raise SweepConfigError(
            "hydra.sweeper.bayes_sampler",
            "got 'gp_torch', Optuna's GPSampler, which runs on torch, and torch is not "
            "installed: pip install 'hydra-wandb-sweeper[gp]', or use gp (the same model on "
            "numpy and scipy, the default)",
        )
    return chosen


def _torch_installed() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a blocked or half-installed torch
        return False


def _optional_mapping(key: str, value: Any) -> Mapping[str, Any] | None:
    """The fields that are set; None when none is (the typed config's unset default)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SweepConfigError(f"hydra.sweeper.{key}", f"got {value!r}, expected a mapping")
    given = {name: field_value for name, field_value in value.items() if field_value is not None}
    return given or None


def _reject_unknown_keys(values: Mapping[str, Any]) -> None:
    """Every unknown key at once, each with what says the same here: a config brought from
    another sweeper is fixed in one go, not one key per run."""
    problems = [
        f"hydra.sweeper.{key}: unknown setting (got {value!r}). {_hint(key, value)}"
        for key, value in values.items()
        if key not in KNOWN_KEYS
    ]
    if len(problems) == 1:
        key, message = problems[0].split(": ", 1)
        raise SweepConfigError(key, message)
    if problems:
        foreign = any(key in FOREIGN_KEYS for key in values)
        raise SweepConfigError(
            "hydra.sweeper",
            f"{len(problems)} unknown settings:\n  "
            + "\n  ".join(problems)
            + (f"\n{TRANSLATE_HINT}" if foreign else ""),
        )


def _hint(key: str, value: Any) -> str:
    if key == "direction" and isinstance(value, (list, tuple)):
        return (
            "Several objectives: a W&B sweep optimizes one metric (metric.name, metric.goal); "
            "return the others in the task's dict and they are logged."
        )
    hint = FOREIGN_KEYS.get(key)
    if hint is None:
        return nearest(key, KNOWN_KEYS).strip() or f"expected one of {', '.join(KNOWN_KEYS)}."
    return hint[0].upper() + hint[1:] + "."


def _search_space(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """``parameters``, with Hydra's basic sweeper's ``params`` (same grammar) merged in."""
    merged: dict[str, Any] = {}
    for key in ("parameters", "params"):
        given = values.get(key) or {}
        if not isinstance(given, Mapping):
            raise SweepConfigError(
                f"hydra.sweeper.{key}", f"got {given!r}, expected a mapping of key: spec"
            )
        for name, spec in given.items():
            if name in merged:
                raise SweepConfigError(
                    f"hydra.sweeper.params.{name}",
                    "also in hydra.sweeper.parameters: give each swept key once",
                )
            merged[name] = spec
    return merged


def _batch_size(values: Mapping[str, Any]) -> int | None:
    n_jobs = _positive_int("n_jobs", values.get("n_jobs"))
    max_batch_size = _positive_int("max_batch_size", values.get("max_batch_size"))
    if n_jobs is not None and max_batch_size is not None and n_jobs != max_batch_size:
        raise SweepConfigError(
            "hydra.sweeper.max_batch_size",
            f"got {max_batch_size} and n_jobs={n_jobs}; both set the trials per launcher "
            "batch: set one",
        )
    return n_jobs if n_jobs is not None else max_batch_size


def _agent_program(values: Mapping[str, Any]) -> tuple[str | None, tuple[Any, ...] | None]:
    program, command = values.get("program"), values.get("command")
    if program is None and command is None:
        return None, None
    if command is not None and not isinstance(command, (list, tuple)):
        raise SweepConfigError(
            "hydra.sweeper.command", f"got {command!r}, expected a list, as in W&B's sweep files"
        )
    log.info(
        "hydra.sweeper.program/command describe what W&B's CLI agent runs; this sweeper runs "
        "the Hydra app itself for each trial (they are kept for the W&B cloud engine)"
    )
    return (None if program is None else str(program)), (
        None if command is None else tuple(command)
    )


def read_settings(raw: Mapping[str, Any], launch_dir: Path) -> SweepSettings:
    """Check the raw ``hydra.sweeper`` values; relative storage paths hang off ``launch_dir``."""
    values = {key: plain(value) for key, value in raw.items() if key != "command"}
    if "command" in raw:  # W&B's macros (${args}) are not Hydra's interpolations
        values["command"] = _as_written(raw["command"])
    _reject_unknown_keys(values)
    failure_rate = _given(values, "max_failure_rate")
    if (
        isinstance(failure_rate, bool)
        or not isinstance(failure_rate, (int, float))
        or not (0.0 <= failure_rate <= 1.0)
    ):
        raise SweepConfigError(
            "hydra.sweeper.max_failure_rate",
            f"got {failure_rate!r}, expected a fraction between 0.0 and 1.0",
        )
    parameters = _search_space(values)
    program, command = _agent_program(values)
    return SweepSettings(
        engine=_one_of("engine", _given(values, "engine"), ENGINES),
        method=values.get("method"),
        metric=_optional_mapping("metric", values.get("metric")),
        parameters=parameters,
        early_terminate=_optional_mapping("early_terminate", values.get("early_terminate")),
        run_cap=_positive_int("run_cap", values.get("run_cap")),
        name=_text("name", values.get("name")),
        description=_text("description", values.get("description")),
        project=_text("project", values.get("project")),
        entity=_text("entity", values.get("entity")),
        sweep_id=None if values.get("sweep_id") is None else str(values["sweep_id"]),
        count=_count(values.get("count")),
        n_jobs=_batch_size(values),
        max_failure_rate=float(failure_rate),
        storage=_storage_spec(values.get("storage"), launch_dir),
        seed=_integer("seed", values.get("seed")),
        bayes_sampler=_bayes_sampler(_given(values, "bayes_sampler")),
        bayes_startup_trials=_positive_int(
            "bayes_startup_trials", _given(values, "bayes_startup_trials")
        )
        or DEFAULTS["bayes_startup_trials"],
        stop_grace_seconds=_seconds("stop_grace_seconds", _given(values, "stop_grace_seconds")),
        server_retry_seconds=_seconds(
            "server_retry_seconds", _given(values, "server_retry_seconds")
        ),
        publish=_flag("publish", _given(values, "publish")),
        program=program,
        command=command,
        agents=_positive_int("agents", _given(values, "agents")) or DEFAULTS["agents"],
        trials_per_gpu=_positive_int("trials_per_gpu", values.get("trials_per_gpu")),
        trial_timeout_seconds=(
            None
            if values.get("trial_timeout_seconds") is None
            else _seconds("trial_timeout_seconds", values["trial_timeout_seconds"])
        ),
    )


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SweepConfigError(f"hydra.sweeper.{key}", f"got {value!r}, expected true or false")
    return value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SweepConfigError(
            f"hydra.sweeper.{key}", f"got {value!r}, expected a positive number of seconds"
        )
    return float(value)


def _as_written(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=False)
    return value


def _storage_spec(storage: Any, launch_dir: Path) -> str:
    if storage is None:
        return str(launch_dir / DEFAULT_STORAGE)
    if not isinstance(storage, str) or not storage.strip():
        raise SweepConfigError(
            "hydra.sweeper.storage",
            f"got {storage!r}, expected a journal file path or a storage URL",
        )
    if storage.startswith("sqlite:///") and not storage.startswith("sqlite:////"):
        # relative to the launch folder, as in the sweeper: jobs may run in other folders
        return "sqlite:///" + str(launch_dir / storage.removeprefix("sqlite:///"))
    if "://" in storage:
        return storage
    path = Path(storage).expanduser()
    return str(path if path.is_absolute() else launch_dir / path)
