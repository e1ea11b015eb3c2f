"""What Hydra's plugin discovery really imports: the shim and the config, nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("wandb", "optuna", "torch", "lightning", "numpy", "scipy")


def test_discovery_imports_nothing_heavy() -> None:
    probe = (
        "import json, sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.sweeper import Sweeper\n"
        "names = [p.__name__ for p in Plugins.instance().discover(Sweeper)]\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'sweepers': names, 'heavy': heavy}))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    found = json.loads(shown.strip().splitlines()[-1])
    assert "WandbSweeper" in found["sweepers"]
    assert found["heavy"] == []


def test_public_api_is_importable_from_the_package_top() -> None:
    import hydra_wandb_sweeper
    from hydra_wandb_sweeper import (
        SweepConfigError,
        SweepEarlyTermination,
        SweepRuntimeError,
        WandbSweeperConf,
        report,
        should_stop,
    )

    assert callable(report) and callable(should_stop)
    assert hydra_wandb_sweeper.__version__
    assert WandbSweeperConf and SweepConfigError and SweepRuntimeError and SweepEarlyTermination
