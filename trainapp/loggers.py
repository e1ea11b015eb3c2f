"""Experiment loggers from ``cfg.logger``, and the config they record.

The config is logged flat, with dotted keys equal to Hydra override keys (``optimizer.lr``,
``model.dropout``) plus the chosen config-group options (``model: cnn_tcn``). A W&B sweep run
receives its parameters under exactly those names, so ``wandb.config`` of a sweep run and the
composed Hydra config describe the same trial with the same keys.
"""

from __future__ import annotations

import netrc
import os
from typing import Any
from urllib.parse import urlparse

import hydra
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, OmegaConf


def flat_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as ``{"optimizer.lr": 0.001, ..., "model": "cnn_tcn"}``.

    Private keys such as ``_target_`` are left out: the group choice already names the class.
    """
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    flat: dict[str, Any] = {}
    _flatten(container, "", flat)
    flat.update(group_choices())
    return flat


def _flatten(node: dict[Any, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten(value, f"{name}.", out)
        else:
            out[name] = value


def group_choices() -> dict[str, str]:
    """Selected options of the app's config groups (``model: cnn_tcn``); hydra/* is skipped."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {
        str(group): str(option)
        for group, option in choices.items()
        if option is not None and not str(group).startswith("hydra/")
    }


def build_loggers(cfg: DictConfig | None) -> list[Logger]:
    """Instantiate every entry of ``cfg.logger`` that has a ``_target_``."""
    if not cfg:
        return []
    loggers = [
        hydra.utils.instantiate(entry)
        for entry in cfg.values()
        if isinstance(entry, DictConfig) and "_target_" in entry
    ]
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        default_wandb_offline()
    return loggers


def default_wandb_offline() -> None:
    """Run W&B offline unless the user chose a mode or has credentials.

    Without this, a first run on a machine with no W&B account would stop to ask for a login.
    An explicit ``WANDB_MODE`` always wins; offline runs can be uploaded later (``wandb sync``).
    """
    if "WANDB_MODE" in os.environ or os.environ.get("WANDB_API_KEY"):
        return
    if not _netrc_has_wandb_login():
        os.environ["WANDB_MODE"] = "offline"


def _netrc_has_wandb_login() -> bool:
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or ""
    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    try:
        return netrc.netrc(path).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def finish_wandb(loggers: list[Logger], failed: bool) -> None:
    """End the W&B run of this job, so the next job of a multirun starts its own run."""
    if not any(isinstance(logger, WandbLogger) for logger in loggers):
        return
    import wandb

    if wandb.run is not None:
        wandb.finish(exit_code=1 if failed else 0)
