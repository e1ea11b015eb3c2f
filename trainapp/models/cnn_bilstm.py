"""CNN feature extractor followed by a bidirectional LSTM over the (downsampled) time axis."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from trainapp.models.shapes import as_sequence, check_dropout, sequence_shape


class CnnBiLstm(nn.Module):
    """Two conv + max-pool stages (time / 4, which keeps the LSTM cheap), a BiLSTM, mean over time."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        dropout: float = 0.2,
        conv_channels: int = 32,
        kernel_size: int = 5,
        hidden_size: int = 32,
        num_layers: int = 1,
    ) -> None:
        super().__init__()
        in_channels, _ = sequence_shape(input_shape)
        dropout = check_dropout(dropout)
        padding = kernel_size // 2
        # ceil_mode keeps at least one step even for very short inputs.
        self.conv = nn.Sequential(
            nn.Conv1d(in_channels, conv_channels, kernel_size, padding=padding),
            nn.BatchNorm1d(conv_channels),
            nn.ReLU(),
            nn.MaxPool1d(2, ceil_mode=True),
            nn.Conv1d(conv_channels, conv_channels, kernel_size, padding=padding),
            nn.BatchNorm1d(conv_channels),
            nn.ReLU(),
            nn.MaxPool1d(2, ceil_mode=True),
            nn.Dropout(dropout),
        )
        self.lstm = nn.LSTM(
            conv_channels,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,  # torch applies it between layers only
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden_size, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.conv(as_sequence(x)).transpose(1, 2)  # (N, T', C) for batch_first
        outputs, _ = self.lstm(features)
        return self.head(outputs.mean(dim=1))
