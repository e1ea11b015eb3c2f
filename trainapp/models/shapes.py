"""How models read an ``input_shape``: every model accepts sequences and tabular samples."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def sequence_shape(input_shape: Sequence[int]) -> tuple[int, int]:
    """(channels, steps) of a sample; a tabular sample of F features is read as (1, F)."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 1:
        return (1, shape[0])
    if len(shape) == 2:
        return (shape[0], shape[1])
    raise ValueError(f"input_shape must be (features,) or (channels, steps); got {shape}")


def as_sequence(x: torch.Tensor) -> torch.Tensor:
    """Batch (N, F) -> (N, 1, F); (N, C, T) unchanged."""
    return x.unsqueeze(1) if x.dim() == 2 else x


def check_dropout(dropout: float) -> float:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"model.dropout must be in [0, 1); got {dropout}")
    return float(dropout)
