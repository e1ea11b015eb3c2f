"""hydra-wandb-sweeper: Weights & Biases sweeps driven by Hydra.

This module is imported whenever Hydra discovers the plugin, so it must stay light:
the public helpers below import their heavy dependencies only when called.
"""

from __future__ import annotations

__version__ = "0.1.0"
