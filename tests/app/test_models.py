"""Every model on every dataset, composed from conf/ like train.py composes it."""

from __future__ import annotations

import math
from pathlib import Path

import hydra
import pytest
import torch
from omegaconf import OmegaConf

from trainapp.compose import compose_config
from trainapp.loggers import flat_config
from trainapp.models import CnnBiLstm, CnnTcn, Mlp
from trainapp.train import train

DATASETS = ["uci_har", "pamap2", "digits"]
MODELS = ["cnn_tcn", "cnn_bilstm", "mlp"]
TINY_TRAINER = [
    "logger=none",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=2",
]

pytestmark = pytest.mark.usefixtures("hydra_restore_singletons")


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_on_every_dataset(
    repo_root: Path, tmp_path: Path, data: str, model: str
) -> None:
    cfg = compose_config(
        repo_root / "conf", [f"data={data}", f"model={model}", *TINY_TRAINER], tmp_path
    )
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    net = hydra.utils.instantiate(
        cfg.model, input_shape=datamodule.input_shape, num_classes=datamodule.num_classes
    )
    x, _ = next(iter(datamodule.train_dataloader()))
    assert net(x).shape == (cfg.data.batch_size, datamodule.num_classes)

    metrics = train(cfg)
    assert math.isfinite(metrics["train/loss"]) and math.isfinite(metrics["val/loss"])
    assert 0.0 <= metrics["val/acc"] <= 1.0


@pytest.mark.parametrize("model_class", [CnnTcn, CnnBiLstm, Mlp])
@pytest.mark.parametrize("shape", [(9, 128), (27, 64), (64,), (3, 5), (1,)])
def test_models_accept_sequences_and_tabular_samples(
    model_class: type[torch.nn.Module], shape: tuple[int, ...]
) -> None:
    net = model_class(input_shape=shape, num_classes=4, dropout=0.5)
    logits = net(torch.randn(3, *shape))
    assert logits.shape == (3, 4) and torch.isfinite(logits).all()


@pytest.mark.parametrize("model_class", [CnnTcn, CnnBiLstm, Mlp])
def test_models_refuse_bad_dropout(model_class: type[torch.nn.Module]) -> None:
    with pytest.raises(ValueError, match=r"model\.dropout must be in \[0, 1\); got 1\.5"):
        model_class(input_shape=(9, 128), num_classes=6, dropout=1.5)


def test_sequence_models_refuse_images() -> None:
    with pytest.raises(
        ValueError, match=r"input_shape must be \(features,\) or \(channels, steps\)"
    ):
        CnnTcn(input_shape=(3, 8, 8), num_classes=2)


def test_dropout_changes_training_outputs_only() -> None:
    net = CnnTcn(input_shape=(9, 32), num_classes=6, dropout=0.5)
    x = torch.randn(4, 9, 32)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


def test_sweep_target_keys_exist(repo_root: Path, tmp_path: Path) -> None:
    cfg = compose_config(repo_root / "conf", [], tmp_path)
    for key in [
        "optimizer.lr",
        "optimizer.weight_decay",
        "data.batch_size",
        "model.dropout",
        "trainer.max_epochs",
        "seed",
    ]:
        assert OmegaConf.select(cfg, key, default=None) is not None, key
    assert cfg.optimized_metric == "val/acc"


@pytest.mark.parametrize("model", MODELS)
def test_every_model_config_exposes_dropout(repo_root: Path, tmp_path: Path, model: str) -> None:
    cfg = compose_config(repo_root / "conf", [f"model={model}", "model.dropout=0.33"], tmp_path)
    net = hydra.utils.instantiate(cfg.model, input_shape=(9, 128), num_classes=6)
    rates = {m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {0.33}


def test_flat_config_keys_are_hydra_override_keys(repo_root: Path, tmp_path: Path) -> None:
    cfg = compose_config(repo_root / "conf", ["model=cnn_bilstm", "optimizer.lr=0.02"], tmp_path)
    flat = flat_config(cfg)
    assert flat["optimizer.lr"] == 0.02
    assert flat["model"] == "cnn_bilstm" and flat["data"] == "uci_har" and flat["logger"] == "wandb"
    assert flat["model.dropout"] == cfg.model.dropout
    assert flat["data.batch_size"] == cfg.data.batch_size
    assert flat["data.seed"] == flat["seed"] == 42  # interpolations are resolved
    assert flat["trainer.max_epochs"] == cfg.trainer.max_epochs
    assert flat["logger.wandb.save_dir"] == str(tmp_path.resolve())
    assert not [key for key in flat if "_target_" in key or key.startswith("hydra")]
    assert "sweep" not in flat  # groups set to null are not choices
