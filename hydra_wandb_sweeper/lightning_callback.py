"""The public path of the Lightning callbacks, as users write it in ``_target_``."""

from hydra_wandb_sweeper.job.lightning_callback import SweepEarlyTermination
from hydra_wandb_sweeper.job.lightning_preemption import SweepPreemption

__all__ = ["SweepEarlyTermination", "SweepPreemption"]
