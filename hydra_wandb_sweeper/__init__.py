"""hydra-wandb-sweeper: Weights & Biases sweeps driven by Hydra.

This module is imported whenever Hydra discovers the plugin, so it must stay light: the
error types and the config dataclass are plain Python, and the helpers that need the engine
or Lightning are imported only when first used.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from hydra_wandb_sweeper.config import WandbSweeperConf
from hydra_wandb_sweeper.errors import SweepConfigError, SweepRuntimeError

if TYPE_CHECKING:
    from hydra_wandb_sweeper.job.lightning_callback import SweepEarlyTermination
    from hydra_wandb_sweeper.job.lightning_preemption import SweepPreemption
    from hydra_wandb_sweeper.job.preemption import resume_checkpoint
    from hydra_wandb_sweeper.job.reporting import report, should_stop

__all__ = [
    "SweepConfigError",
    "SweepEarlyTermination",
    "SweepPreemption",
    "SweepRuntimeError",
    "WandbSweeperConf",
    "report",
    "resume_checkpoint",
    "should_stop",
]

_LAZY = {
    "report": "hydra_wandb_sweeper.job.reporting",
    "should_stop": "hydra_wandb_sweeper.job.reporting",
    "SweepEarlyTermination": "hydra_wandb_sweeper.job.lightning_callback",
    "SweepPreemption": "hydra_wandb_sweeper.job.lightning_preemption",
    "resume_checkpoint": "hydra_wandb_sweeper.job.preemption",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
