"""``report SWEEP``: an offline HTML page of plots and trials, and the plots as PNG files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from hydra_wandb_sweeper.cli.common import StorageOption, SweepArgument, console, read_sweep
from hydra_wandb_sweeper.engine.table import InspectError


def report(
    sweep: SweepArgument,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write into. Default: sweep-reports/SWEEP_ID."),
    ] = None,
    png: Annotated[bool, typer.Option(help="Also write each plot as a PNG file.")] = True,
    storage: StorageOption = None,
) -> None:
    """Write report.html (parallel coordinates, optimization history, parameter importance,
    learning curves with early-termination stops, the trials table; opens offline) and PNGs."""
    try:
        from hydra_wandb_sweeper.inspect.report import write_report
    except ImportError as error:
        raise InspectError(
            f"report needs plotly ({error}): pip install 'hydra-wandb-sweeper[report]'"
        ) from None

    started = time.perf_counter()
    table = read_sweep(sweep, storage)
    folder = out or Path("sweep-reports") / table.sweep_id
    try:
        written = write_report(table, folder, png=png)
    except OSError as error:  # a folder that cannot be made or written: one line, no traceback
        where = error.filename or folder
        raise InspectError(f"cannot write the report into {where}: {error.strerror}") from None
    output = console()
    output.print(f"Report: {written.html}", highlight=False)
    for path in written.pngs:
        output.print(f"  {path}", highlight=False)
    if written.png_error:
        output.print(f"No PNG files: {written.png_error}", highlight=False)
    output.print(
        f"{len(table.trials)} trials in {time.perf_counter() - started:.1f} s", highlight=False
    )
