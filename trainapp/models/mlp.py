"""A multilayer perceptron baseline; sequences are flattened to channels * steps features."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from trainapp.models.shapes import check_dropout


class Mlp(nn.Module):
    """Flatten, then Linear-ReLU-Dropout for each of ``hidden_sizes``, then a linear classifier."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        dropout: float = 0.2,
        hidden_sizes: Sequence[int] = (128, 64),
    ) -> None:
        super().__init__()
        dropout = check_dropout(dropout)
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(int(d) for d in input_shape)
        for size in hidden_sizes:
            layers += [nn.Linear(width, int(size)), nn.ReLU(), nn.Dropout(dropout)]
            width = int(size)
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
