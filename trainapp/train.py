"""One training job: build everything from the composed config, fit, return the final metrics."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import hydra
import lightning
import torch
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig

from hydra_wandb_sweeper import resume_checkpoint
from trainapp.data.base import ArrayDataModule
from trainapp.errors import MetricNotFoundError
from trainapp.loggers import build_loggers, finish_wandb, flat_config
from trainapp.module import STAGES, Classifier

# In-memory datasets need no loader workers; Lightning's advice to add some is noise here.
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
# Lightning notices srun on any machine with SLURM installed, even when no job runs under it.
warnings.filterwarnings("ignore", message=r"The `srun` command is available on your system")
# On a SLURM login node Lightning advises `srun` for every local run; the sweeper's
# hydra/launcher=submitit_slurm is what puts trials on the cluster.
warnings.filterwarnings("ignore", message=r"The `srun` command is available on your system")
# Lightning 2.6 calls a torch API that torch 2.13 deprecates; harmless, and not ours to fix.
warnings.filterwarnings(
    "ignore", message=r"`isinstance\(treespec, LeafSpec\)`", category=FutureWarning
)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit ``cfg.model`` on ``cfg.data`` and return the last logged metrics as floats.

    The dict holds ``val/loss``, ``val/acc``, ``val/f1`` and the ``train/*`` epoch metrics
    (plus ``test/*`` when ``cfg.test`` is true); it always contains ``cfg.optimized_metric``.
    Every W&B run this job opens is finished before returning, even on error.
    """
    _drop_duplicate_lightning_console()
    lightning.seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    _check_metric_name(cfg.optimized_metric)
    datamodule: ArrayDataModule = hydra.utils.instantiate(cfg.data)
    if cfg.get("test") and not datamodule.has_test_split:
        raise ValueError(
            f"test=true, but {type(datamodule).__name__} has no separate test split;"
            " set test=false (or, for pamap2, list data.test_subjects)"
        )
    net = hydra.utils.instantiate(
        cfg.model, input_shape=datamodule.input_shape, num_classes=datamodule.num_classes
    )
    classifier = Classifier(net, hydra.utils.instantiate(cfg.optimizer), datamodule.num_classes)

    loggers = build_loggers(cfg.get("logger"))
    failed = True
    try:
        for logger in loggers:
            logger.log_hyperparams(flat_config(cfg))
        trainer: lightning.Trainer = hydra.utils.instantiate(
            cfg.trainer, callbacks=build_callbacks(cfg.get("callbacks")), logger=loggers or False
        )
        # a sweep trial that SLURM preempted and requeued goes on from its checkpoint
        trainer.fit(classifier, datamodule=datamodule, ckpt_path=resume_checkpoint())
        metrics = _as_floats(trainer.callback_metrics)
        if cfg.get("test"):
            trainer.test(classifier, datamodule=datamodule, verbose=False)
            metrics.update(_as_floats(trainer.callback_metrics))
        if cfg.optimized_metric not in metrics:
            raise MetricNotFoundError(
                f"optimized_metric={cfg.optimized_metric!r} was not logged by this run; logged"
                f" metrics: {sorted(metrics)}. Was validation disabled (trainer.limit_val_batches=0)?"
            )
        failed = False
        return metrics
    finally:
        finish_wandb(loggers, failed)


def build_callbacks(cfg: DictConfig | None) -> list[Callback]:
    """Instantiate every entry of ``cfg.callbacks`` that has a ``_target_``."""
    if not cfg:
        return []
    return [
        hydra.utils.instantiate(entry)
        for entry in cfg.values()
        if isinstance(entry, DictConfig) and "_target_" in entry
    ]


def _check_metric_name(name: str) -> None:
    """Refuse a misspelt metric of the classifier before training, not after it."""
    known = Classifier.metric_names()
    if any(name.startswith(f"{stage}/") for stage in STAGES) and name not in known:
        raise MetricNotFoundError(
            f"optimized_metric={name!r} is not a metric this app logs; expected one of {known}"
        )


def _drop_duplicate_lightning_console() -> None:
    """Print Lightning's messages once: the ``lightning`` package has a console handler of its
    own and also passes every record on to the root logger, which under Hydra already writes
    to the console and to the job's log file."""
    if not logging.getLogger().hasHandlers():
        return
    package_logger = logging.getLogger("lightning")
    for handler in list(package_logger.handlers):
        if type(handler) is logging.StreamHandler:
            package_logger.removeHandler(handler)


def _as_floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {name: float(value) for name, value in metrics.items()}
