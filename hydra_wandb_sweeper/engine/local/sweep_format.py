"""The sweep format: what the embedded engine keeps in an Optuna storage, and its version.

A sweep is one Optuna study, named by the sweep id. Everything the sweeper adds to Optuna's
own record is a user attribute named here; other modules import the names from this one.
A release that changes what an attribute means, or needs one that older sweeps lack, raises
:data:`FORMAT_VERSION` and reads the older formats still. A sweep written by a release with
a newer format is refused in one sentence (:class:`NewerSweepFormat`) instead of being
misread; a sweep without a format attribute was written before formats were numbered, and
is format 1. ``tests/engine/test_sweep_format.py`` keeps a format-1 journal and SQLite file
of this release and resumes, lists and reports them on every later one.
"""

from __future__ import annotations

from typing import Any

from hydra_wandb_sweeper.engine.base import OVERRIDES_ATTR, RESULT_ATTR, STOPPED_ATTR
from hydra_wandb_sweeper.errors import SweepConfigError

FORMAT_VERSION = 1

# --- on the study ----------------------------------------------------------------------------
FORMAT_ATTR = "sweep_format"  # the FORMAT_VERSION that created the sweep
DEFINITION_ATTR = "wandb_sweep"  # SweepDefinition as a dict: method, metric, parameters, ...
STOP_ATTR = "stop_requested"  # set by `hydra-wandb-sweeper stop`
PUBLISHED_ATTR = "published_to_wandb"  # {"sweep": W&B sweep path, "runs": [run ids]}

# --- on each trial ---------------------------------------------------------------------------
RUN_ID_ATTR = "run_id"  # the W&B run id of the trial
PARAMS_ATTR = "params"  # the trial's values by parameter key
POINT_ATTR = "grid_point"  # a grid trial's point index
ENDED_ATTR = "ended"  # why a trial ended without its task finishing (grid.py)
ERROR_ATTR = "error"  # the failure's message
STATE_ATTR = "state"  # finished | stopped, beside Optuna's COMPLETE
NO_METRIC_ATTR = "no_metric"  # COMPLETE without a metric (Optuna needs a number)
OWNER_ATTR, OWNER_BEAT_ATTR = "owner", "heartbeat"  # the sweeper that claimed the trial
JOB_ATTR, JOB_BEAT_ATTR = "job", "job_heartbeat"  # the process that runs its task
# written by the job (engine/base.py: the cloud engine's jobs write them too)
JOB_WRITTEN = (STOPPED_ATTR, RESULT_ATTR, OVERRIDES_ATTR)


class NewerSweepFormat(SweepConfigError):
    """The sweep was written by a release whose format this one cannot read."""


def format_of(study_attrs: dict[str, Any]) -> int:
    found = study_attrs.get(FORMAT_ATTR, 1)
    return found if isinstance(found, int) and not isinstance(found, bool) else 1


def check_readable(study_attrs: dict[str, Any], sweep_id: str, storage_spec: str) -> None:
    found = format_of(study_attrs)
    if found > FORMAT_VERSION:
        raise NewerSweepFormat(
            "hydra.sweeper.sweep_id",
            f"sweep {sweep_id!r} in {storage_spec!r} was written by a newer "
            f"hydra-wandb-sweeper (sweep format {found}; this one reads formats up to "
            f"{FORMAT_VERSION}): upgrade hydra-wandb-sweeper to resume or read it",
        )
