"""Live progress: a bar redrawn in a terminal, plain periodic lines elsewhere."""

from __future__ import annotations

import logging
import os
import pty
import re
import select
import subprocess
import time

from hydra_wandb_sweeper.engine.base import SweepDefinition, TrialRecord, TrialState
from hydra_wandb_sweeper.sweep import progress
from hydra_wandb_sweeper.sweep.progress import SweepProgress
from tests.support.sweeper_helpers import run_sweep, sweep_command, sweep_env

DEFINITION = SweepDefinition(
    method="random", metric_name="loss", goal="minimize", target=None, parameters=(), run_cap=12
)


def record(number: int, state: TrialState, value: float | None = None) -> TrialRecord:
    return TrialRecord(number, f"run{number}", state, value, {})


def test_plain_lines_give_counts_best_elapsed_and_estimate(monkeypatch, caplog):
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)
    mine = [record(0, TrialState.FINISHED, 2.0), record(1, TrialState.STOPPED, 0.5)]
    everyone = [*mine, record(2, TrialState.FAILED), record(3, TrialState.RUNNING)]
    with caplog.at_level(logging.INFO), SweepProgress("abc", DEFINITION, 5, terminal=False) as bar:
        bar.update(mine, everyone)
    [line] = [r.getMessage() for r in caplog.records if r.name == progress.__name__]
    assert re.fullmatch(
        r"Progress: 2/5 trials here \| 1 running · 1 failed · 1 stopped · "
        r"best loss 0\.5 \(trial 1\) · 0m00s elapsed · ~0m00s left",
        line,
    ), line


def test_plain_lines_are_periodic_not_per_trial(tmp_path):
    """Not a terminal: a short sweep prints no progress line (at most one a minute)."""
    completed = run_sweep(tmp_path, "x=interval(0,1)", "hydra.sweeper.count=3")
    assert "Progress:" not in completed.stdout + completed.stderr


def test_terminal_shows_one_bar_redrawn_under_the_jobs_output(tmp_path):
    primary, replica = pty.openpty()
    env = sweep_env(tmp_path) | {"COLUMNS": "200", "TERM": "xterm"}
    command = sweep_command(
        tmp_path,
        "x=interval(0,1)",
        "hydra.sweeper.count=3",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
    )
    sweep = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdin=replica, stdout=replica, stderr=replica
    )
    os.close(replica)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while sweep.poll() is None or select.select([primary], [], [], 0)[0]:
            assert time.monotonic() < deadline
            if select.select([primary], [], [], 0.2)[0]:
                try:
                    seen += os.read(primary, 65536)
                except OSError:  # the sweep closed the terminal
                    break
    finally:
        os.close(primary)
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.wait(timeout=30) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    sweep_id = re.search(r"W&B sweep (\w+) \|", text).group(1)
    assert re.search(rf"sweep {sweep_id} .*3/3 .*best loss [\d.]+ \(trial \d\)", text)
    assert "1 running" in text  # drawn while a trial runs, not only between them
    # the bar never lands inside a job's log line: each Hydra line starts its own line
    for line in text.splitlines():
        if "[HYDRA]" in line:
            assert line.lstrip("\r").startswith("["), line
