"""Faults that only some process sees, misbehaving tasks and processes: each ends as the
README promises (a sentence, the documented exit code, nothing finished lost or run twice)."""

from __future__ import annotations

import pytest

from tests.cli.cli_helpers import cli
from tests.support.sweeper_helpers import results, run_sweep

pytestmark = pytest.mark.slow

GRID = ("x=choice(0,1,2,3)", "hydra.sweeper.method=grid")
JOBLIB = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")


def test_a_storage_error_seen_only_by_a_job_is_a_storage_fault(tmp_path):
    marker = tmp_path / "fault-once"
    faulty = run_sweep(
        tmp_path, *GRID, *JOBLIB, f"storage_fault_once={marker}", sweep_dir="a", check=False
    )
    output = faulty.stdout + faulty.stderr
    assert faulty.returncode == 74, output
    assert "Traceback" not in output and "storage" in output, output
    summary = results(tmp_path, "a")["trials"]
    # the job's trial is not the task's failure: it runs again on resume
    assert summary["failed"] == summary.get("failed_run_again_on_resume", 0), summary
    sweep_id = results(tmp_path, "a")["sweep_id"]
    run_sweep(tmp_path, *GRID, *JOBLIB, f"hydra.sweeper.sweep_id={sweep_id}", sweep_dir="b")
    assert results(tmp_path, "b")["trials"]["finished"] == 4


def test_values_and_names_holding_rich_markup_are_shown_as_text(tmp_path):
    swept = run_sweep(
        tmp_path,
        "label=choice('[/x]','[red]a')",
        "hydra.sweeper.name='[/x] [bold]b'",
        "hydra.sweeper.method=grid",
        sweep_dir="a",
    )
    output = swept.stdout + swept.stderr
    assert "Traceback" not in output and "[red]a" in output and "[/x]" in output, output
    storage = str(tmp_path / "journal.log")
    sweep_id = results(tmp_path, "a")["sweep_id"]
    for command in (("show", sweep_id), ("list",)):
        shown = cli(tmp_path, *command, "--storage", storage)
        assert "Traceback" not in shown.stderr, shown.stderr
        assert "[/x] [bold]b" in shown.stdout, shown.stdout
    shown = cli(tmp_path, "show", sweep_id, "--storage", storage)
    assert "[red]a" in shown.stdout and "\x1b[" not in shown.stdout, shown.stdout
