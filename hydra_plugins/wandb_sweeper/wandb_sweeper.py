"""Hydra's entry point for ``hydra/sweeper=wandb``.

Hydra imports every public module under ``hydra_plugins`` at each start-up, so this shim
imports nothing heavy: the sweep loop (wandb, optuna, torch) is imported in :meth:`setup`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper

from hydra_wandb_sweeper.config import (
    MACROS_CALLBACK_GROUP,
    MACROS_CALLBACK_NAME,
    MACROS_CALLBACK_PACKAGE,
    macros_callback_node,
    sweeper_config_node,
)

if TYPE_CHECKING:
    from hydra.types import HydraContext, TaskFunction
    from omegaconf import DictConfig

    from hydra_wandb_sweeper.sweep.loop import SweepLoop

ConfigStore.instance().store(
    group="hydra/sweeper", name="wandb", node=sweeper_config_node(), provider="hydra-wandb-sweeper"
)
ConfigStore.instance().store(
    group=MACROS_CALLBACK_GROUP,
    name=MACROS_CALLBACK_NAME,
    node=macros_callback_node(),
    package=MACROS_CALLBACK_PACKAGE,
    provider="hydra-wandb-sweeper",
)


class WandbSweeper(Sweeper):
    """Runs a W&B sweep in which every trial is a Hydra job."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._loop: SweepLoop | None = None

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        from hydra_wandb_sweeper.sweep.loop import SweepLoop

        self._loop = SweepLoop(self._settings)
        self._loop.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        assert self._loop is not None, "Hydra calls setup() before sweep()"
        return self._loop.sweep(arguments)
