"""How far the sweep is, while it runs: one line for this process.

On a terminal (stderr) it is a rich progress bar at the bottom of the screen, redrawn in
place, with the jobs' own output scrolling above it. Elsewhere (a log file, CI, a cluster
job) it is a plain log line every ``PLAIN_EVERY_S`` seconds, so that the output stays about
one line per trial.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialRecord, TrialState
from hydra_wandb_sweeper.sweep.results import best_record

log = logging.getLogger(__name__)
PLAIN_EVERY_S = 60.0


class SweepProgress:
    def __init__(
        self,
        sweep_id: str,
        definition: SweepDefinition,
        count: int | None,
        *,
        terminal: bool | None = None,
    ) -> None:
        self.sweep_id = sweep_id
        self.definition = definition
        self.count = count
        self.started = time.monotonic()
        self._last_plain = self.started
        self._bar: Any = None
        self._task: Any = None
        if terminal is None:
            from rich.console import Console

            terminal = Console(stderr=True).is_terminal
        self.terminal = terminal

    def __enter__(self) -> SweepProgress:
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn(f"sweep {self.sweep_id}", markup=False),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[status]}", markup=False),
                console=Console(stderr=True, markup=False, emoji=False),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=self.count, status="starting")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, mine: Sequence[TrialRecord], everyone: Sequence[TrialRecord]) -> None:
        """When a batch starts and ends: this process's ended trials and the whole sweep's."""
        status = self.status(mine, everyone, elapsed=self._bar is None)
        if self._bar is not None:
            total = self.count or self.definition.run_cap
            done = len(mine) if self.count else len(everyone)
            self._bar.update(self._task, completed=done, total=total, status=status)
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = now
            log.info(f"Progress: {self.done_text(mine, everyone)} | {status}")

    def done_text(self, mine: Sequence[TrialRecord], everyone: Sequence[TrialRecord]) -> str:
        if self.count:
            return f"{len(mine)}/{self.count} trials here"
        cap = self.definition.run_cap
        return f"{len(everyone)}/{cap} trials in the sweep" if cap else f"{len(mine)} trials here"

    def status(
        self, mine: Sequence[TrialRecord], everyone: Sequence[TrialRecord], elapsed: bool = True
    ) -> str:
        states = Counter(record.state for record in everyone)
        parts = [f"{states[TrialState.RUNNING]} running"]
        parts += [
            f"{states[state]} {state.value}"
            for state in (TrialState.FAILED, TrialState.STOPPED)
            if states[state]
        ]
        best = best_record(everyone, self.definition)
        if best is not None:
            parts.append(
                f"best {self.definition.metric_name} {best.value:.4g} (trial {best.number})"
            )
        seconds = time.monotonic() - self.started
        if elapsed:  # the terminal's bar has its own ticking clock
            parts.append(f"{clock(seconds)} elapsed")
        left = self._left(len(mine), len(everyone))
        if mine and left:
            parts.append(f"~{clock(seconds / len(mine) * left)} left")
        return " · ".join(parts)

    def _left(self, mine: int, everyone: int) -> int:
        if self.count:
            left = self.count - mine
            if self.definition.run_cap:
                left = min(left, max(0, self.definition.run_cap - everyone))
            return left
        return max(0, (self.definition.run_cap or 0) - everyone)


def clock(seconds: float) -> str:
    """1m05s, 2h03m."""
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{rest:02d}s"
