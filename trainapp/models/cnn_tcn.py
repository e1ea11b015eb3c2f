"""CNN stem followed by a temporal convolutional network (residual, dilated 1D convolutions)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from trainapp.models.shapes import as_sequence, check_dropout, sequence_shape


class TemporalBlock(nn.Module):
    """Two dilated convolutions with a residual connection (Bai et al., 2018).

    The padding keeps the length ("same" convolution): a classifier sees the whole window,
    so causality, which a forecaster needs, would only cost receptive field here.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, kernel_size, padding=padding, dilation=dilation),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(channels, channels, kernel_size, padding=padding, dilation=dilation),
            nn.BatchNorm1d(channels),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class CnnTcn(nn.Module):
    """Conv stem, ``levels`` temporal blocks with dilation 1, 2, 4, ..., global average pooling."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        dropout: float = 0.2,
        channels: int = 32,
        kernel_size: int = 5,
        levels: int = 3,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"model.kernel_size must be odd to keep the length; got {kernel_size}")
        in_channels, _ = sequence_shape(input_shape)
        dropout = check_dropout(dropout)
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, channels, kernel_size, padding=kernel_size // 2),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(
            *(TemporalBlock(channels, kernel_size, 2**i, dropout) for i in range(levels))
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.blocks(self.stem(as_sequence(x)))
        return self.head(features.mean(dim=-1))
