"""Faults that only some process sees, misbehaving tasks and processes: each ends as the
README promises (a sentence, the documented exit code, nothing finished lost or run twice)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest

from hydra_wandb_sweeper.engine.local.storage import open_storage
from tests.cli.cli_helpers import cli
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (a fixture)
from tests.support.sweeper_helpers import (
    results,
    run_checked,
    run_sweep,
    sweep_command,
    sweep_env,
)

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
    # and a terminal escape code (ESC) is shown escaped: it must not recolour the terminal
    swept = run_sweep(
        tmp_path,
        "label=choice('[/x]','[red]a','b\x1b[31mc')",
        "hydra.sweeper.name='[/x] [bold]b\x1b]0;t'",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric.name=loss",
        sweep_dir="a",
    )
    output = swept.stdout + swept.stderr
    assert "Traceback" not in output and "[red]a" in output and "[/x]" in output, output
    assert "\x1b" not in output and "b\\x1b[31mc" in output, output
    storage = str(tmp_path / "journal.log")
    sweep_id = results(tmp_path, "a")["sweep_id"]
    for command in (("show", sweep_id), ("list",), ("best", sweep_id)):
        shown = cli(tmp_path, *command, "--storage", storage)
        print(shown.stdout)
        assert "Traceback" not in shown.stderr, shown.stderr
        assert "\x1b" not in shown.stdout, shown.stdout
        if command[0] != "best":
            assert "[/x] [bold]b\\x1b]0;t" in shown.stdout, shown.stdout
    shown = cli(tmp_path, "show", sweep_id, "--storage", storage)
    assert "[red]a" in shown.stdout and "b\\x1b[31mc" in shown.stdout, shown.stdout


def test_rerun_commands_work_when_the_sweep_comes_from_a_config_group(tmp_path):
    # -m hydra/sweeper=wandb +sweep=plain: the group sets hydra.sweeper keys that only this
    # sweeper's config has, so a re-run must keep the sweeper's choice
    run_sweep(tmp_path, "+sweep=plain", sweep_dir="a")
    summary = results(tmp_path, "a")
    storage = str(tmp_path / "journal.log")
    best = cli(tmp_path, "best", summary["sweep_id"], "--storage", storage, "--json")
    for number, command in enumerate((summary["rerun_best"], json.loads(best.stdout)["rerun"])):
        # a folder of its own: two re-runs in the same second share Hydra's default one
        rerun = subprocess.run(
            ["bash", "-c", f"{command} hydra.run.dir=outputs/rerun/{number}"],
            cwd=tmp_path,
            env=sweep_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rerun.returncode == 0, rerun.stderr
    records = [json.loads(p.read_text()) for p in tmp_path.glob("outputs/*/*/trial.json")]
    assert [record["config"]["x"] for record in records] == [1.0, 1.0]


def test_a_resume_does_not_wait_for_a_killed_sweeper_nobody_reaped(tmp_path):
    first = subprocess.Popen(
        sweep_command(tmp_path, *GRID, "hold_above=0.5", sweep_dir="a"),
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = tmp_path / "a" / "1" / "started"
        deadline = time.monotonic() + 120
        while not started.exists():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        sweep_id = results_of_journal(tmp_path)
        first.send_signal(signal.SIGKILL)  # not reaped: a zombie while this test runs
        # its trial is found at once (not after the 10-minute heartbeat window) and re-run
        run_sweep(tmp_path, *GRID, f"hydra.sweeper.sweep_id={sweep_id}", sweep_dir="b", timeout=120)
        assert results(tmp_path, "b")["trials"]["finished"] == 4
    finally:
        first.kill()
        first.wait()


def results_of_journal(tmp_path: Path) -> str:
    """The one sweep id in the test's journal."""
    [sweep_id] = optuna.get_all_study_names(open_storage(str(tmp_path / "journal.log")))
    return sweep_id


def test_the_command_line_tool_reads_a_storage_it_may_not_write(tmp_path):
    folder = tmp_path / "sweeps"
    journal = folder / "journal.log"
    run_sweep(
        tmp_path,
        *GRID,
        "hydra.sweeper.count=2",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        f"hydra.sweeper.storage={journal}",
    )
    sweep_id = results(tmp_path)["sweep_id"]
    paths = [*folder.iterdir(), folder]  # the journal, its lock file, the folder
    read_only(paths, True)
    try:
        for command in (("show", sweep_id), ("list",), ("best", sweep_id)):
            shown = cli(tmp_path, *command, "--storage", str(journal))
            assert sweep_id in shown.stdout, shown
        assert not (folder / "journal.log.torn").exists()
    finally:
        read_only(paths, False)


def read_only(paths: list[Path], on: bool) -> None:
    """As a read-only mount would: root writes through permissions, not through +i."""
    for path in paths:
        if os.geteuid() == 0:
            flag = "+i" if on else "-i"
            if subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode:
                pytest.skip("chattr +i is not available here")
        else:
            path.chmod((0o555 if path.is_dir() else 0o444) if on else 0o755)


def test_each_process_holds_at_most_two_database_connections(tmp_path, postgres_url):  # noqa: F811
    import sqlalchemy

    go = tmp_path / "go"
    overrides = (*GRID, *JOBLIB, "hold_above=-1", f"hold_until={go}")
    sweep = subprocess.Popen(
        [*sweep_command(tmp_path, *overrides), f"hydra.sweeper.storage={postgres_url}"],
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = [tmp_path / "multirun" / str(n) / "started" for n in (0, 1)]
        deadline = time.monotonic() + 180
        while not all(path.exists() for path in started):  # both workers run a trial
            assert time.monotonic() < deadline and sweep.poll() is None
            time.sleep(0.05)
        engine = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as connection:
            clients = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()"
            ).scalar()
        print(f"{clients} connections for the sweeper and its 2 workers")
        assert clients is not None and clients <= 2 * 3
        go.write_text("")
        assert sweep.wait(timeout=180) == 0
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()


def test_no_joblib_worker_outlives_a_killed_sweeper(tmp_path):
    import psutil

    go = tmp_path / "go"
    # three workers for two trials: one of them never runs a trial
    overrides = ("x=choice(0,1)", "hydra.sweeper.method=grid", "hydra/launcher=joblib")
    overrides = (*overrides, "hydra.launcher.n_jobs=3")
    sweep = subprocess.Popen(
        sweep_command(tmp_path, *overrides, "hold_above=-1", f"hold_until={go}"),
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = [tmp_path / "multirun" / str(n) / "started" for n in (0, 1)]
    deadline = time.monotonic() + 180
    while not all(path.exists() for path in started):  # two workers run a trial
        assert time.monotonic() < deadline and sweep.poll() is None
        time.sleep(0.05)
    left = psutil.Process(sweep.pid).children(recursive=True)  # workers, resource trackers
    sweep.kill()
    sweep.wait()
    go.write_text("")  # the workers' trials end
    deadline = time.monotonic() + 60
    while alive := [process for process in left if _running(process)]:
        assert time.monotonic() < deadline, f"still running 60 s after the kill: {alive}"
        time.sleep(0.1)


def _running(process: object) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE  # type: ignore[attr-defined]
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("launcher", [(), JOBLIB], ids=["in-process", "joblib"])
def test_a_trial_that_hangs_ends_at_its_time_limit_and_the_sweep_goes_on(tmp_path, launcher):
    completed = run_sweep(
        tmp_path,
        *GRID,
        *launcher,
        "hold_above=2.5",  # point 3 hangs (up to 2 minutes)
        "hydra.sweeper.trial_timeout_seconds=3",
        "hydra.sweeper.max_failure_rate=0.5",
        timeout=100,
    )
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 3 and summary["trials"]["failed"] == 1, summary
    [failure] = summary["failed_trials"]
    assert "trial_timeout_seconds=3" in failure["error"], failure
    assert "Traceback" not in completed.stderr


def test_a_job_refused_by_a_full_database_server_is_a_storage_fault(tmp_path):
    # three connections in all: the sweeper holds two, the first worker the third, and the
    # second worker's job is refused ("too many clients")
    with postgres_server("-c max_connections=3 -c superuser_reserved_connections=0") as url:
        storage = f"hydra.sweeper.storage={url}"
        full = run_checked(
            [*sweep_command(tmp_path, *GRID, *JOBLIB, "sleep=1", sweep_dir="a"), storage],
            cwd=tmp_path,
            env=sweep_env(tmp_path),
            check=False,
            timeout=300,
        )
        output = full.stdout + full.stderr
        assert full.returncode == 74, output
        assert "Traceback" not in output, output
        summary = results(tmp_path, "a")
        trials = summary["trials"]
        assert trials["failed"] == trials.get("failed_run_again_on_resume", 0), summary
        # in one process (the basic launcher), the resume fits the server
        join = [*sweep_command(tmp_path, *GRID, sweep_dir="b"), storage]
        run_checked(
            [*join, f"hydra.sweeper.sweep_id={summary['sweep_id']}"],
            cwd=tmp_path,
            env=sweep_env(tmp_path),
            check=True,
            timeout=300,
        )
        assert results(tmp_path, "b")["trials"]["finished"] == 4
