"""What the subcommands share: the sweep argument, where sweeps are read from, the console."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer
from rich.console import Console

from hydra_wandb_sweeper.engine.table import SweepTable
from hydra_wandb_sweeper.sweep.console import printable
from hydra_wandb_sweeper.sweep.progress import clock

SweepArgument = Annotated[
    str,
    typer.Argument(
        metavar="SWEEP",
        help="A local sweep id (as printed at the sweep's start), or ENTITY/PROJECT/SWEEP_ID "
        "for a sweep on a W&B server.",
        show_default=False,
    ),
]
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="The local engine's storage: a journal file path or an Optuna storage URL "
        "(sqlite:///sweeps.db, postgresql://...). Default: .wandb-sweeps/journal.log here.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def read_sweep(sweep: str, storage: str | None) -> SweepTable:
    from hydra_wandb_sweeper.engine.kinds import sweeps_holding

    return sweeps_holding(sweep, storage).read(sweep)


def console() -> Console:
    """Standard output; piped, it is as wide as the widest line, so tables are never cut.

    Values, names and paths are shown as text, never read as rich markup or emoji codes: a
    sweep named ``[/x]`` must not crash ``list``, nor ``[red]a`` show a red ``a``; their
    control characters (a terminal escape code) are shown escaped."""
    terminal = _TextConsole(markup=False, emoji=False)
    if terminal.is_terminal:
        return terminal
    return _TextConsole(width=100_000, markup=False, emoji=False)


class _TextConsole(Console):
    # every string printed or put in a table cell passes here
    def render_str(self, text: str, **kwargs: Any) -> Any:
        return super().render_str(printable(text), **kwargs)


def value_text(value: Any, digits: int = 6) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return printable(str(value))


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.1f}s" if seconds < 60 else clock(seconds)
