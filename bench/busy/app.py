"""A CPU-bound task of a given length: what a trial stopped early or run to the end costs.

Trial ``t`` spins one thread for ``long`` CPU seconds when ``t`` is even, ``short`` when odd
(hyperband's mix of trials stopped at the first bracket and trials run to the end), and
writes when it started and ended, so the benchmark can measure the trial phase alone.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    started = time.time()
    seconds = cfg.long if cfg.t % 2 == 0 else cfg.short
    deadline = time.process_time() + seconds
    spins = 0
    while time.process_time() < deadline:
        spins += 1
    span = {"start": started, "end": time.time()}
    (Path(HydraConfig.get().runtime.output_dir) / "span.json").write_text(json.dumps(span))
    return float(cfg.t)


if __name__ == "__main__":
    main()
