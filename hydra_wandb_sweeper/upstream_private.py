"""Every Hydra, OmegaConf, submitit and wandb API the sweeper uses that they do not document
as public.

Optuna's are in ``engine/local/optuna_private.py``. Each one here is checked by
``tests/test_upstream_apis.py`` against the installed release, so a release that renames or
drops one fails that test by name instead of failing a sweep. This module belongs to no layer
and imports nothing of the sweeper's, so that every layer may use it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, ListConfig
from omegaconf.base import Node

# The logger Hydra's basic launcher writes its per-batch lines with (a module of _internal).
BASIC_LAUNCHER_LOGGER = "hydra._internal.core_plugins.basic_launcher"


def hydra_args_parser() -> argparse.ArgumentParser:
    """Hydra's own parser of its command line (``-m``, ``--config-name``, overrides)."""
    from hydra._internal.utils import get_args_parser

    return get_args_parser()


def job_error(result: JobReturn) -> Any:
    """The exception a failed job ended with; None for a job that did not fail.

    ``JobReturn.return_value`` raises it, and writes a line of its own to stderr first."""
    return result._return_value if result.status is JobStatus.FAILED else None


def set_job_error(result: JobReturn, error: BaseException) -> None:
    """Make a failed job's ``return_value`` raise ``error`` instead of its own exception."""
    result._return_value = error


def failed_job(overrides: Sequence[str], error: BaseException) -> JobReturn:
    """A failed job's return, whose ``return_value`` raises ``error`` as a task's would."""
    return JobReturn(overrides=list(overrides), status=JobStatus.FAILED, _return_value=error)


def launcher_executor(launcher: object) -> str | None:
    """The submitit executor a launcher uses ("slurm", "local"); None for other launchers."""
    executor = getattr(launcher, "_EXECUTOR", None)
    return executor if isinstance(executor, str) else None


def child_node(config: DictConfig | ListConfig, key: str | int) -> Node | None:
    """The node under ``key`` as written: interpolations unresolved, its type kept."""
    return config._get_node(key)  # type: ignore[arg-type, return-value]


def raw_value(config: DictConfig | ListConfig, key: str | int) -> Any:
    """The value under ``key`` as written (``${program}`` stays that string)."""
    node = child_node(config, key)
    return None if node is None else node._value()


def wandb_sends_through_core(api: Any) -> bool:
    """Whether this wandb's public API sends GraphQL through wandb-core (``Api._service_api``,
    which ``wandb agent`` uses too; wandb 0.26 and later)."""
    return callable(getattr(getattr(api, "_service_api", None), "execute_graphql", None))


def wandb_execute_graphql(
    api: Any, document: str, variables: dict[str, Any], timeout: float
) -> Any:
    """A GraphQL document sent as ``wandb.Api()`` sends its own (engine/cloud/graphql.py)."""
    if wandb_sends_through_core(api):
        return api._service_api.execute_graphql(document, variables, timeout=timeout)
    # older releases: the public API's own requests session and retries (``Api.client``)
    from wandb_gql import gql

    return api.client.execute(gql(document), variable_values=variables, timeout=timeout)
