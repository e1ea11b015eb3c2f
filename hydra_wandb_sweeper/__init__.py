"""hydra-wandb-sweeper: Weights & Biases sweeps driven by Hydra.

This module is imported whenever Hydra discovers the plugin, so it must stay light:
the public helpers below import their heavy dependencies only when called.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydra_wandb_sweeper.reporting import report, should_stop

__all__ = ["report", "should_stop"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hydra_wandb_sweeper import reporting

        return getattr(reporting, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
