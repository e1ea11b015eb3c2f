"""What a sweep leaves behind: ``optimization_results.yaml`` and a table of trials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialRecord, TrialState
from hydra_wandb_sweeper.searchspace.space import SearchSpace
from hydra_wandb_sweeper.sweep.commands import CommandLine
from hydra_wandb_sweeper.sweep.console import cell

RESULTS_FILE = "optimization_results.yaml"
# Wide enough for any table: rich keeps a table at its natural width below this.
_LOG_FILE_WIDTH = 1000
_LISTED_FAILURES = 20


def best_record(records: Sequence[TrialRecord], definition: SweepDefinition) -> TrialRecord | None:
    scored = [
        record
        for record in records
        if record.value is not None and record.state in (TrialState.FINISHED, TrialState.STOPPED)
    ]
    if not scored or definition.metric_name is None:
        return None
    pick = max if definition.goal == "maximize" else min
    return pick(scored, key=lambda record: record.value)  # type: ignore[arg-type,return-value]


def summarize(
    sweep_id: str,
    definition: SweepDefinition,
    space: SearchSpace,
    records: Sequence[TrialRecord],
    command_line: CommandLine,
) -> dict[str, Any]:
    counts = Counter(record.state.value for record in records)
    summary: dict[str, Any] = {
        "name": definition.name or sweep_id,
        "sweep_id": sweep_id,
        "method": definition.method,
        "metric": {"name": definition.metric_name, "goal": definition.goal},
        # a grid counts each point once, with its final state
        "trials": {
            "total": len(records),
            **{state.value: counts.get(state.value, 0) for state in TrialState},
        },
    }
    failed = [record for record in records if record.state is TrialState.FAILED]
    if failed:
        # failed without fault of their own (interrupted, process died): run on resume
        rerun = sum(record.will_rerun for record in failed)
        summary["trials"]["failed_run_again_on_resume"] = rerun
        summary["failed_trials"] = [
            {
                "number": record.number,
                "params": dict(record.params),
                "error": record.error,
                "runs_again_on_resume": record.will_rerun,
            }
            for record in failed[:_LISTED_FAILURES]
        ]
    best = best_record(records, definition)
    if best is not None:
        # what the best trial's job ran with; computed only if its job recorded nothing
        overrides = list(best.overrides or space.job_overrides(best.params))
        summary.update(
            best_value=best.value,
            best_params=dict(best.params),
            best_trial={"number": best.number, "run_id": best.run_id, "state": best.state.value},
            best_overrides=overrides,
            rerun_best=command_line.rerun(overrides),
        )
    return summary


def write_results(sweep_dir: Path, summary: dict[str, Any]) -> Path:
    sweep_dir.mkdir(parents=True, exist_ok=True)
    path = sweep_dir / RESULTS_FILE
    # one line per command, however long: a wrapped command cannot be pasted
    path.write_text(yaml.safe_dump(summary, sort_keys=False, width=float("inf")))
    return path


def print_table(
    records: Sequence[TrialRecord], definition: SweepDefinition, space: SearchSpace
) -> None:
    from rich.console import Console
    from rich.table import Table

    best = best_record(records, definition)
    table = Table(title=f"Trials ({definition.method})", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("run")
    table.add_column("state")
    table.add_column(definition.metric_name or "value", justify="right")
    for param in space.parameters:
        table.add_column(param.key)
    for record in records:
        style = "bold green" if best is not None and record.number == best.number else None
        value = "" if record.value is None else f"{record.value:.6g}"
        cells = [cell(record.params.get(param.key, "")) for param in space.parameters]
        table.add_row(
            str(record.number), record.run_id, record.state.value, value, *cells, style=style
        )
    # values are text, never rich markup: a value "[/x]" must not crash the sweep's end
    console = Console(markup=False, emoji=False)
    if not console.is_terminal:  # a pipe or a log file: the whole table, not cut at 80 columns
        console = Console(width=_LOG_FILE_WIDTH, markup=False, emoji=False)
    console.print(table)
