"""The public path of the Lightning callback, as users write it in ``_target_``."""

from hydra_wandb_sweeper.job.lightning_callback import SweepEarlyTermination

__all__ = ["SweepEarlyTermination"]
