"""The ``hydra.sweeper`` settings, checked and typed before any trial starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import nearest
from hydra_wandb_sweeper.searchspace.space import plain

ENGINES = ("local", "wandb")
BAYES_SAMPLERS = ("gp", "tpe")
DEFAULT_STORAGE = Path(".wandb-sweeps") / "journal.log"


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
    agents: int = 1
    trials_per_gpu: int | None = None


def _positive_int(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SweepConfigError(
            f"hydra.sweeper.{key}", f"got {value!r}, expected a positive integer"
        )
    return value


def _one_of(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value in allowed:
        return str(value)
    raise SweepConfigError(
        f"hydra.sweeper.{key}",
        f"got {value!r}, expected one of {', '.join(allowed)}.{nearest(str(value), allowed)}",
    )


def _optional_mapping(key: str, value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SweepConfigError(f"hydra.sweeper.{key}", f"got {value!r}, expected a mapping")
    return value


def read_settings(raw: Mapping[str, Any], launch_dir: Path) -> SweepSettings:
    """Check the raw ``hydra.sweeper`` values; relative storage paths hang off ``launch_dir``."""
    values = {key: plain(value) for key, value in raw.items()}
    failure_rate = values.get("max_failure_rate", 0.0)
    if (
        isinstance(failure_rate, bool)
        or not isinstance(failure_rate, (int, float))
        or not (0.0 <= failure_rate <= 1.0)
    ):
        raise SweepConfigError(
            "hydra.sweeper.max_failure_rate",
            f"got {failure_rate!r}, expected a fraction between 0.0 and 1.0",
        )
    parameters = values.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise SweepConfigError(
            "hydra.sweeper.parameters", f"got {parameters!r}, expected a mapping of key: spec"
        )
    n_jobs = values.get("n_jobs")
    return SweepSettings(
        engine=_one_of("engine", values.get("engine", "local"), ENGINES),
        method=values.get("method"),
        metric=_optional_mapping("metric", values.get("metric")),
        parameters=parameters,
        early_terminate=_optional_mapping("early_terminate", values.get("early_terminate")),
        run_cap=_positive_int("run_cap", values.get("run_cap")),
        name=values.get("name"),
        description=values.get("description"),
        project=values.get("project"),
        entity=values.get("entity"),
        sweep_id=None if values.get("sweep_id") is None else str(values["sweep_id"]),
        count=_positive_int("count", values.get("count")),
        n_jobs=_positive_int("n_jobs", n_jobs),
        max_failure_rate=float(failure_rate),
        storage=_storage_spec(values.get("storage"), launch_dir),
        seed=values.get("seed"),
        bayes_sampler=_one_of("bayes_sampler", values.get("bayes_sampler", "gp"), BAYES_SAMPLERS),
        bayes_startup_trials=_positive_int(
            "bayes_startup_trials", values.get("bayes_startup_trials", 5)
        )
        or 5,
        agents=_positive_int("agents", values.get("agents", 1)) or 1,
        trials_per_gpu=_positive_int("trials_per_gpu", values.get("trials_per_gpu")),
    )


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
