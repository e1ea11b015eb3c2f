"""A task with a learning curve per trial, reporting through the plain (non-Lightning) API.

``quality`` sets the curve's ceiling: score(epoch) = quality * (1 - exp(-epoch / 3)), so
a trial's rank is the same at every epoch and early termination has a right answer.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from hydra_wandb_sweeper import report, should_stop


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    run = None
    if cfg.use_wandb:  # W&B's server judges early termination from what the run logs
        import wandb

        run = wandb.init(dir=str(output_dir))
    score = 0.0
    epochs_run = 0
    for epoch in range(1, cfg.epochs + 1):
        time.sleep(cfg.epoch_seconds)
        score = cfg.quality * (1.0 - math.exp(-epoch / 3.0))
        epochs_run = epoch
        if run is not None:
            run.log({"score": score})
        report(score, step=epoch)
        if not cfg.ignore_stop and should_stop():
            break
        if cfg.hold_below is not None and cfg.quality < cfg.hold_below and epoch >= cfg.hold_at:
            # a weak trial waits here for early termination (tests synchronise on the stop,
            # not on how fast the server decides): until it is stopped, or killed after the
            # grace period when it ignores the stop
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and (cfg.ignore_stop or not should_stop()):
                time.sleep(0.05)
            break
    if run is not None:
        run.finish()
    record = {"quality": cfg.quality, "epochs_run": epochs_run, "score": score}
    (output_dir / "curve.json").write_text(json.dumps(record))
    return {"score": score}


if __name__ == "__main__":
    main()
