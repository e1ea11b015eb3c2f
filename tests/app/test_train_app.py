"""train.py end to end: a real Hydra multirun, W&B run folders, learning, and metric errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import wandb
import yaml

from trainapp.compose import compose_config
from trainapp.errors import MetricNotFoundError
from trainapp.loggers import default_wandb_offline
from trainapp.train import train

TINY = [
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=1",
]

pytestmark = pytest.mark.usefixtures("hydra_restore_singletons")


@pytest.mark.slow
def test_multirun_gives_each_job_its_own_wandb_run(repo_root: Path, tmp_path: Path) -> None:
    launch_dir, sweep_dir = tmp_path / "launch", tmp_path / "multirun"
    launch_dir.mkdir()
    command = [
        sys.executable, str(repo_root / "train.py"), "-m",
        "data=uci_har,digits", "model=cnn_tcn,mlp", f"hydra.sweep.dir={sweep_dir}", *TINY,
    ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline"}
    done = subprocess.run(
        command, cwd=launch_dir, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]

    job_dirs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    assert [p.name for p in job_dirs] == ["0", "1", "2", "3"]
    run_dirs = [list((job / "wandb").glob("offline-run-*")) for job in job_dirs]
    assert all(len(runs) == 1 for runs in run_dirs), run_dirs
    assert len({runs[0].name.rsplit("-", 1)[-1] for runs in run_dirs}) == 4  # 4 distinct run ids
    overrides = [
        yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) for job in job_dirs
    ]
    assert {(o[0], o[1]) for o in overrides} == {
        (f"data={d}", f"model={m}") for d in ("uci_har", "digits") for m in ("cnn_tcn", "mlp")
    }
    assert (
        list(launch_dir.iterdir()) == []
    )  # no ./wandb, ./outputs or ./multirun in the launch folder


def test_wandb_run_joins_the_sweep_and_logs_override_keys(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the sweeper relies on: the env vars bind the run; config keys equal override keys."""
    params = tmp_path / "sweep-params.yaml"
    params.write_text("wandb_version: 1\nmodel:\n  value: mlp\noptimizer.lr:\n  value: 0.004\n")
    monkeypatch.setenv("WANDB_SWEEP_ID", "sweep123")
    monkeypatch.setenv("WANDB_RUN_ID", "trial007")
    monkeypatch.setenv("WANDB_SWEEP_PARAM_PATH", str(params))
    seen: dict[str, object] = {}
    real_finish = wandb.finish

    def finish(*args: object, **kwargs: object) -> None:
        assert wandb.run is not None
        seen.update(config=dict(wandb.run.config), id=wandb.run.id, sweep=wandb.run.sweep_id)
        seen.update(dir=wandb.run.dir)
        real_finish(*args, **kwargs)

    monkeypatch.setattr(wandb, "finish", finish)
    cfg = compose_config(repo_root / "conf", ["model=mlp", "optimizer.lr=0.004", *TINY], tmp_path)
    train(cfg)

    assert wandb.run is None
    assert (seen["id"], seen["sweep"]) == ("trial007", "sweep123")
    config = seen["config"]
    assert isinstance(config, dict)
    assert config["model"] == "mlp" and config["optimizer.lr"] == 0.004
    assert config["model.dropout"] == 0.2 and config["data.batch_size"] == 64
    assert config["trainer.max_epochs"] == 1 and config["seed"] == 42
    assert str(seen["dir"]).startswith(str(tmp_path.resolve() / "wandb"))


@pytest.mark.slow
def test_cnn_tcn_learns_the_har_stand_in(repo_root: Path, tmp_path: Path) -> None:
    cfg = compose_config(repo_root / "conf", ["logger=none", "trainer.max_epochs=3"], tmp_path)
    metrics = train(cfg)
    assert metrics["val/acc"] >= 0.5, metrics  # chance is 1/6


def test_learning_rate_matters_on_the_stand_in(repo_root: Path, tmp_path: Path) -> None:
    def val_acc(lr: float) -> float:
        overrides = ["model=mlp", f"optimizer.lr={lr}", "logger=none"]
        return train(compose_config(repo_root / "conf", overrides, tmp_path))["val/acc"]

    good, tiny = val_acc(1e-3), val_acc(1e-5)
    assert good >= 0.5 and good - tiny >= 0.15, (good, tiny)


def test_misspelt_metric_is_refused_before_training(repo_root: Path, tmp_path: Path) -> None:
    cfg = compose_config(repo_root / "conf", ["optimized_metric=val/accuracy", *TINY], tmp_path)
    with pytest.raises(MetricNotFoundError, match=r"'val/accuracy' is not a metric.*'val/acc'"):
        train(cfg)


def test_metric_that_was_never_logged_names_the_logged_ones(
    repo_root: Path, tmp_path: Path
) -> None:
    overrides = ["optimized_metric=accuracy", "model=mlp", "data=digits", *TINY]
    cfg = compose_config(repo_root / "conf", overrides, tmp_path)
    with pytest.raises(MetricNotFoundError, match=r"'accuracy' was not logged.*'val/acc'"):
        train(cfg)
    assert wandb.run is None  # the failed job's W&B run was finished all the same


def test_test_split_metrics_are_returned_on_request(repo_root: Path, tmp_path: Path) -> None:
    overrides = ["test=true", "model=mlp", "logger=csv", *TINY, "+trainer.limit_test_batches=1"]
    metrics = train(compose_config(repo_root / "conf", overrides, tmp_path))
    assert {"val/acc", "test/acc", "test/loss"} <= set(metrics)
    assert (tmp_path / "csv" / "version_0" / "metrics.csv").is_file()


def test_test_split_on_a_dataset_without_one_is_refused(repo_root: Path, tmp_path: Path) -> None:
    cfg = compose_config(repo_root / "conf", ["test=true", "data=digits", *TINY], tmp_path)
    with pytest.raises(
        ValueError, match=r"DigitsDataModule has no separate test split; set test=false"
    ):
        train(cfg)


def test_wandb_defaults_to_offline_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine example.org login a password b\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    default_wandb_offline()
    assert os.environ["WANDB_MODE"] == "offline"

    monkeypatch.delenv("WANDB_MODE")
    netrc_file.write_text("machine api.wandb.ai login user password " + "k" * 40 + "\n")
    default_wandb_offline()  # a `wandb login` is found: W&B's own default (online) stays
    assert "WANDB_MODE" not in os.environ

    monkeypatch.setenv("WANDB_MODE", "disabled")
    netrc_file.write_text("")
    default_wandb_offline()  # an explicit choice always wins
    assert os.environ["WANDB_MODE"] == "disabled"
