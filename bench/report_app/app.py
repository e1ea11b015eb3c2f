"""A stand-in for a training script with the app's parameter names and a learning curve per
trial (no training: milliseconds per trial), so that sweeps of hundreds of trials are quick.

val/acc climbs towards a ceiling set by the model, the learning rate (best near 3e-3), the
dropout (best near 0.25) and the batch size, and reports each epoch to the sweep, which may
stop the trial early (hyperband).
"""

from __future__ import annotations

import math
import random

import hydra
from omegaconf import DictConfig

from hydra_wandb_sweeper import report, should_stop


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    noise = random.Random(hash((cfg.optimizer.lr, cfg.model.dropout, cfg.seed)) & 0xFFFF)
    ceiling = cfg.model.capacity
    ceiling -= 0.08 * math.log10(cfg.optimizer.lr / 3e-3) ** 2
    ceiling -= 0.6 * (cfg.model.dropout - 0.25) ** 2
    ceiling -= 0.01 * abs(math.log2(cfg.data.batch_size / 64))
    speed = 2.0 + 4.0 * abs(math.log10(cfg.optimizer.lr / 3e-2))
    acc = 0.0
    for epoch in range(1, cfg.trainer.max_epochs + 1):
        acc = max(0.0, ceiling * (1.0 - math.exp(-epoch / speed)) + noise.gauss(0, 0.004))
        report(acc, step=epoch)
        if should_stop():
            break
    return {"val/acc": acc}


if __name__ == "__main__":
    main()
