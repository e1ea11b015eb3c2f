"""What a sweep prints: about one line per trial, no plumbing, a whole table in a log file,
errors that say what happened, and an exit status that says whether anything worked."""

from __future__ import annotations

import shutil
import subprocess

from tests.support.sweeper_helpers import APP, run_sweep, sweep_command, sweep_env


def test_a_sweep_prints_one_line_per_trial_and_its_summaries(tmp_path):
    completed = run_sweep(
        tmp_path,
        "x=interval(-2,2)",
        "shape=flat,bowl",
        "hydra.sweeper.count=4",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "use_wandb=true",
        quiet=False,
    )
    lines = (completed.stdout + completed.stderr).splitlines()
    trial_lines = [line for line in lines if "] Trial " in line]
    assert len(trial_lines) == 4, "\n".join(lines)
    assert all("finished  loss=" in line and "shape=" in line for line in trial_lines)
    # start (sweep id, join command), 4 trials, the table (title, header, 4 rows), results, best
    assert len(lines) <= 2 + 4 + 9 + 2, "\n".join(lines)
    assert not [line for line in lines if "wandb:" in line or "Launching" in line]


def test_the_table_is_whole_in_a_log_file(tmp_path):
    labels = "label=a_rather_long_label_value_number_one,a_rather_long_label_value_number_two"
    completed = run_sweep(
        tmp_path, "x=interval(-2,2)", "y=interval(-2,2)", labels, "hydra.sweeper.count=2"
    )
    rows = [line for line in completed.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 2 and not any("…" in row for row in rows), completed.stdout
    assert all(len(row) > 80 for row in rows)


def test_a_job_hydra_cannot_compose_is_reported_as_such(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(APP.parent, app)
    # an option whose defaults list names a config that does not exist: only its jobs break
    (app / "conf" / "shape" / "broken.yaml").write_text(
        "defaults:\n  - /nosuch/config\noffset: 2.0\n"
    )
    command = sweep_command(tmp_path, "shape=flat,broken", "hydra.sweeper.method=grid")
    command[1] = str(app / "app.py")
    completed = subprocess.run(
        command, cwd=tmp_path, env=sweep_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert completed.returncode != 0
    output = completed.stdout + completed.stderr
    assert "Hydra cannot compose this trial's job" in completed.stderr
    assert "nosuch" in completed.stderr
    assert "launcher failed" not in output and "Traceback" not in output


def test_a_sweep_in_which_every_trial_failed_exits_non_zero(tmp_path):
    completed = run_sweep(
        tmp_path,
        "x=interval(0,1)",
        "fail_above=-1",
        "hydra.sweeper.count=2",
        "hydra.sweeper.max_failure_rate=1.0",
        check=False,
    )
    assert completed.returncode != 0
    assert "Every trial of this sweep failed (2)" in completed.stderr
    assert "above fail_above" in completed.stderr
    assert "Error executing job" not in completed.stdout + completed.stderr
