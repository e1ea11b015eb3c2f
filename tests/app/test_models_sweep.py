"""``sweep=models``: one sweep over the three models, each trial with its model's own keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TINY = [
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2",
    "+trainer.limit_val_batches=1",
    "logger=none",
]
# what each model's trials may carry beside model, optimizer.lr and model.dropout
OWN_KEYS = {
    "cnn_tcn": {"model.kernel_size", "model.channels", "model.levels"},
    "cnn_bilstm": {"model.kernel_size", "model.hidden_size", "model.num_layers"},
    "mlp": {"model.hidden_sizes"},
}
SHARED = {"model", "optimizer.lr", "model.dropout"}


@pytest.mark.slow
def test_the_models_sweep_gives_each_trial_its_models_parameters(
    repo_root: Path, tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "multirun"
    command = [
        sys.executable, str(repo_root / "train.py"), "-m", "sweep=models",
        f"hydra.sweep.dir={sweep_dir}", f"hydra.sweeper.storage={tmp_path / 'journal.log'}",
        "hydra.sweeper.count=6", "hydra.sweeper.bayes_startup_trials=3", *TINY,
    ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline"}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["trials"]["finished"] == 6
    models = set()
    for job in sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()):
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        swept = {line.split("=", 1)[0] for line in overrides} - {"trainer.max_epochs", "sweep"}
        swept -= {line.split("=", 1)[0] for line in TINY}
        model = next(line.split("=", 1)[1] for line in overrides if line.startswith("model="))
        models.add(model)
        assert swept == SHARED | OWN_KEYS[model], (model, overrides)
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text())
        for line in overrides:  # the composed config holds the trial's values
            key, value = line.split("=", 1)
            if key.startswith("model.") and key in OWN_KEYS[model]:
                assert config["model"][key.split(".", 1)[1]] == yaml.safe_load(value)
    assert len(models) >= 2
    best = results["best_params"]
    assert set(best) == SHARED | OWN_KEYS[best["model"]]
