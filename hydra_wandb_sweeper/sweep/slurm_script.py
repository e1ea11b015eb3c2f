"""The SLURM job-array script that starts agents of a sweep, shipped inside the package.

Installed from a wheel, the plugin has no checkout around it: the script lives beside this
module and ``hydra-wandb-sweeper slurm-script`` writes it out.
"""

from __future__ import annotations

from importlib import resources

SCRIPT_NAME = "sweep_agents.sbatch"


def slurm_agents_script() -> str:
    """The text of ``sweep_agents.sbatch``."""
    return resources.files(__package__).joinpath(SCRIPT_NAME).read_text(encoding="utf-8")
