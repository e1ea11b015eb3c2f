"""What checking a sweep's values against the config costs, against one config composition.

Before any trial the sweeper checks every listed value of every parameter against the
composed config (an enum field takes only some strings, an int field no string). Each
composition re-reads the whole command line, the swept values included, so composing once
per value grew with the square of the number of values. This script times the check of a
grid of N string values with Hydra's real config loader, and prints it as a ratio to one
composition of the same config (the peer run): a check that composes a fixed number of
times stays at a small ratio whatever N.

    python bench/validation.py [--sizes 10 250 1000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode

from hydra_wandb_sweeper.searchspace.space import build_search_space
from hydra_wandb_sweeper.searchspace.validation import check_against_config

CONF = Path(__file__).resolve().parent / "trivial" / "conf"


def measure(size: int) -> tuple[float, float]:
    """Seconds to check ``size`` string values, and seconds of one composition."""
    values = "[" + ",".join(f"v{i}" for i in range(size)) + "]"
    overrides = ["hydra/sweeper=wandb", f"+hydra.sweeper.parameters.x={{values:{values}}}"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        config = loader.load_configuration("config", overrides, run_mode=RunMode.MULTIRUN)
        space = build_search_space(config.hydra.sweeper.parameters, [])
        start = time.perf_counter()
        loader.load_sweep_config(config, ["x=v0"])
        one = time.perf_counter() - start
        start = time.perf_counter()
        check_against_config(loader, config, space)
        check = time.perf_counter() - start
    return check, one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 250, 1000])
    sizes = parser.parse_args().sizes
    for size in sizes:
        check, one = measure(size)
        print(
            f"{size:>6} string values: check {check:.2f} s = {check / one:.1f}x one composition "
            f"({one * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
