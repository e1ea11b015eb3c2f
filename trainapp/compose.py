"""Compose the app's config outside ``python train.py`` (tests, notebooks, debugging)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict


def compose_config(
    config_dir: str | Path, overrides: Sequence[str] = (), output_dir: str | Path = "."
) -> DictConfig:
    """The config ``python train.py <overrides>`` would get, with ``output_dir`` as job folder.

    Like a real run it registers the Hydra config globally (``HydraConfig.get()``), so that
    ``${hydra:runtime.output_dir}`` resolves and the chosen group options can be logged.
    """
    with initialize_config_dir(config_dir=str(Path(config_dir).resolve()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(Path(output_dir).resolve())
        HydraConfig.instance().set_config(cfg)
        del cfg["hydra"]  # a task never sees the hydra node; it reads HydraConfig.get()
    return cfg
