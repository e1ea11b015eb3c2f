"""A fast Hydra task for the sweeper's end-to-end tests: a quadratic with a config group.

It can record what the job saw (its config, the W&B sweep binding), join W&B offline,
fail on demand, or sleep, so the tests drive the real sweeper, launchers and W&B client
without training a model.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from hydra_wandb_sweeper import report


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float] | float | None:
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    (output_dir / "started").write_text(str(os.getpid()))  # tests wait on this file
    started = time.time()
    if cfg.sleep:
        time.sleep(float(cfg.sleep))
    if cfg.hold_above is not None and cfg.x > cfg.hold_above:
        deadline = time.monotonic() + 120
        try:
            # until the test interrupts the sweep, or creates the file hold_until names
            while time.monotonic() < deadline:
                if cfg.hold_until is not None and Path(cfg.hold_until).exists():
                    break
                time.sleep(0.05)
        except KeyboardInterrupt:
            if not cfg.swallow_interrupt:
                raise
    if cfg.crash_above is not None and cfg.x > cfg.crash_above:
        time.sleep(1.0)  # let the other jobs of the batch finish first
        if cfg.crash_with == "exit3":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
    if cfg.storage_fault_once is not None and not Path(cfg.storage_fault_once).exists():
        # the job's own process can no longer grow a file (a quota, a full disk seen from
        # its node): its report to the sweep's storage fails, the sweeper's writes do not
        Path(cfg.storage_fault_once).write_text("")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        report(0.0, step=1)
    if cfg.fail_above is not None and cfg.x > cfg.fail_above:
        raise ValueError(f"x={cfg.x} is above fail_above={cfg.fail_above}")
    if cfg.x in (cfg.nan_at, cfg.none_at):
        return float("nan") if cfg.x == cfg.nan_at else None
    loss = (cfg.x - 1.0) ** 2 + (cfg.y + 2.0) ** 2 + cfg.shape.offset
    loss += (cfg.shape.get("radius", 1.0) - 1.0) ** 2  # only shape=ring has a radius
    record = {
        "config": OmegaConf.to_container(cfg, resolve=True),
        "pid": os.getpid(),
        "env": {
            key: value
            for key, value in os.environ.items()
            if (key.startswith("WANDB_") and key != "WANDB_API_KEY")
            or key == "CUDA_VISIBLE_DEVICES"
        },
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "started": started,
        "ended": time.time(),
    }
    if cfg.use_wandb:
        import wandb

        run = wandb.init(
            dir=str(output_dir), project=cfg.wandb_project, config={"x": 0.0, "y": 0.0}
        )
        # a sweep's values are locked: the app's later update must not change them, nor its
        # group choice, logged as the training app logs it (``shape: flat``)
        choice = HydraConfig.get().runtime.choices.get("shape")
        run.config.update({"x": -999.0, "shape": choice}, allow_val_change=True)
        run.log({"loss": loss})
        record["wandb"] = {
            "id": run.id,
            "sweep_id": run.sweep_id,
            "config": dict(run.config),
            "project": run.project,
            "group": run.group,
            "tags": list(run.tags),
            "job_type": run.job_type,
            "dir": run.dir,
        }
        run.finish()
    (output_dir / "trial.json").write_text(json.dumps(record))
    return {"loss": loss, "score": -loss}


if __name__ == "__main__":
    main()
