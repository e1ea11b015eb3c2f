"""``slurm-script``: write out the SLURM job-array script that starts agents of a sweep."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Annotated

import typer

from hydra_wandb_sweeper.engine.table import InspectError
from hydra_wandb_sweeper.sweep.slurm_script import SCRIPT_NAME, slurm_agents_script


def slurm_script(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help=f"File to write (made executable). Default: print the script. "
            f"Then: sbatch --array=0-3 {SCRIPT_NAME} COUNT JOIN_COMMAND...",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print or write sweep_agents.sbatch: each task of its SLURM job array joins a sweep as an
    agent and runs COUNT trials. Its comments say how to submit it."""
    text = slurm_agents_script()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
        out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as error:
        raise InspectError(f"cannot write {out}: {error.strerror or error}") from None
    typer.echo(f"Wrote {out}")
