"""The LightningModule: any classifier network, cross-entropy, accuracy and macro-F1."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from lightning import LightningModule
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]

STAGES = ("train", "val", "test")


class Classifier(LightningModule):
    """Logs ``<stage>/loss``, ``<stage>/acc`` and ``<stage>/f1`` once per epoch.

    ``optimizer`` is called with the parameters, e.g. ``functools.partial(torch.optim.AdamW,
    lr=1e-3)`` (what Hydra builds from ``conf/optimizer/adamw.yaml`` with ``_partial_: true``).
    """

    def __init__(self, net: nn.Module, optimizer: OptimizerFactory, num_classes: int) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        # One metric object per stage: torchmetrics accumulate state between steps. (The keys
        # are not the bare stage names: ModuleDict refuses "train", a method of nn.Module.)
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_metrics": MetricCollection(
                    {
                        "acc": MulticlassAccuracy(num_classes, average="micro"),
                        # Macro F1 weighs rare activities like frequent ones (PAMAP2 is imbalanced).
                        "f1": MulticlassF1Score(num_classes, average="macro"),
                    },
                    prefix=f"{stage}/",
                )
                for stage in STAGES
            }
        )
        self.loss = nn.CrossEntropyLoss()

    @staticmethod
    def metric_names() -> list[str]:
        """Every metric name this module logs, e.g. ``val/acc``."""
        return [f"{stage}/{name}" for stage in STAGES for name in ("loss", "acc", "f1")]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y)
        metrics = self.metrics[f"{stage}_metrics"]
        metrics.update(logits, y)
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        self.log_dict(metrics, on_step=False, on_epoch=True)
        return loss

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_factory(self.parameters())
