"""Classifiers built as ``Model(input_shape, num_classes, dropout, ...)``; any model fits any dataset."""

from __future__ import annotations

from trainapp.models.cnn_bilstm import CnnBiLstm
from trainapp.models.cnn_tcn import CnnTcn
from trainapp.models.mlp import Mlp

__all__ = ["CnnBiLstm", "CnnTcn", "Mlp"]
