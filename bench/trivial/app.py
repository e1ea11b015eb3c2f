"""A task that does nothing measurable, so a sweep's wall time is the sweeper's own."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return float((cfg.x - 7) ** 2)


if __name__ == "__main__":
    main()
