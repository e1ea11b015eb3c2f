"""A fast Hydra task for the sweeper's end-to-end tests: a quadratic with a config group.

It can record what the job saw (its config, the W&B sweep binding), join W&B offline,
fail on demand, or sleep, so the tests drive the real sweeper, launchers and W&B client
without training a model.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    if cfg.sleep:
        time.sleep(float(cfg.sleep))
    if cfg.fail_above is not None and cfg.x > cfg.fail_above:
        raise ValueError(f"x={cfg.x} is above fail_above={cfg.fail_above}")
    if cfg.crash_above is not None and cfg.x > cfg.crash_above:
        time.sleep(1.0)  # let the other jobs of the batch finish first
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
    loss = (cfg.x - 1.0) ** 2 + (cfg.y + 2.0) ** 2 + cfg.shape.offset
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    record = {
        "config": OmegaConf.to_container(cfg, resolve=True),
        "pid": os.getpid(),
        "env": {
            key: value
            for key, value in os.environ.items()
            if key.startswith("WANDB_") or key == "CUDA_VISIBLE_DEVICES"
        },
    }
    if cfg.use_wandb:
        import wandb

        run = wandb.init(dir=str(output_dir), config={"x": 0.0, "y": 0.0})
        run.log({"loss": loss})
        record["wandb"] = {"id": run.id, "sweep_id": run.sweep_id, "config": dict(run.config)}
        run.finish()
    (output_dir / "trial.json").write_text(json.dumps(record))
    return {"loss": loss, "score": -loss}


if __name__ == "__main__":
    main()
