"""The commands the sweeper prints work when pasted into a shell, from any folder.

The app is launched the way that broke them: a relative script path, Hydra's
``--config-path``, ``--config-name`` and ``--config-dir``, and a config that sets
``hydra.mode: MULTIRUN`` (so there is no ``-m`` on the command line).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support.sweeper_helpers import APP, sweep_env

pytestmark = pytest.mark.slow

SWEEP_CONFIG = """\
defaults:
  - config
  - override hydra/sweeper: wandb
  - _self_
hydra:
  mode: MULTIRUN
  sweeper:
    method: grid
    metric: {name: loss, goal: minimize}
    parameters:
      shape: {values: [flat, steep]}
      x: {values: [0.0, 1.0]}
"""


def make_project(tmp_path: Path) -> Path:
    """app.py with its configs in conf/ (found through --config-dir), the sweep's config in
    sweeps/ (--config-path, --config-name) and an extra group option in conf/shape/."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(APP, project / "app.py")
    shutil.copytree(APP.parent / "conf", project / "conf")
    (project / "conf" / "shape" / "steep.yaml").write_text("offset: 3.0\n")
    (project / "sweeps").mkdir()
    (project / "sweeps" / "multi.yaml").write_text(SWEEP_CONFIG)
    return project


def launch(project: Path, tmp_path: Path, *overrides: str) -> list[str]:
    return [
        sys.executable,
        "app.py",
        "-cp",
        "sweeps",
        "-cn",
        "multi",
        "-cd",
        "conf",
        f"hydra.sweeper.storage={tmp_path / 'journal.log'}",
        *overrides,
    ]


def run_pasted(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The command as a user pastes it into a shell in some other folder."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run(
        ["bash", "-c", command],
        cwd=elsewhere,
        env=sweep_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )


def printed_command(output: str, label: str) -> str:
    found = re.search(rf"{label}: (.*)$", output, re.MULTILINE)
    assert found, f"no {label!r} in:\n{output}"
    return found.group(1)


def test_printed_join_and_rerun_commands_run_from_another_folder(tmp_path):
    project = make_project(tmp_path)
    first = subprocess.run(
        launch(project, tmp_path, "hydra.sweeper.count=2"),
        cwd=project,
        env=sweep_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert first.returncode == 0, first.stderr
    join = printed_command(
        first.stderr + first.stdout, "Join this sweep from another terminal or machine"
    )
    assert sys.executable in join and str(project / "app.py") in join

    # the join command runs the grid's two remaining points (its count is 2 as well), and
    # an environment prefix reaches it, as when one agent is put on each GPU
    # (its own folder: Hydra names sweep folders by the second, and both runs of this fast
    # app may start within one second; relative, so it is under the launch folder)
    joined = run_pasted(f"CUDA_VISIBLE_DEVICES=7 {join} hydra.sweep.dir=joined", tmp_path)
    assert joined.returncode == 0, joined.stderr
    sweep_dir = project / "joined"
    seen = [json.loads(path.read_text()) for path in sweep_dir.glob("*/trial.json")]
    assert [record["cuda_visible_devices"] for record in seen] == ["7", "7"]
    summary = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert summary["trials"]["finished"] == 4
    assert summary["best_params"] == {"shape": "flat", "x": 1.0}

    # the results file holds each command on one line, as printed
    lines = (sweep_dir / "optimization_results.yaml").read_text().splitlines()
    assert f"rerun_best: {summary['rerun_best']}" in lines

    # re-running the best trial is one run of the app, not another sweep
    rerun = run_pasted(summary["rerun_best"], tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "sweep" not in rerun.stderr.lower()
    [record] = [json.loads(p.read_text()) for p in project.glob("outputs/*/*/trial.json")]
    assert record["config"]["x"] == 1.0 and record["config"]["shape"] == {"offset": 0.0}
    assert "WANDB_RUN_ID" not in record["env"]


def test_the_resume_command_after_an_interrupt_finishes_what_was_asked(tmp_path):
    project = make_project(tmp_path)
    log_path = tmp_path / "first.log"
    go = tmp_path / "go"  # until it exists, a job with x = 1 holds (the grid's second point)
    with log_path.open("w") as log:
        first = subprocess.Popen(
            launch(
                project, tmp_path, "hydra.sweeper.count=3", "hold_above=0.5", f"hold_until={go}"
            ),
            cwd=project,
            env=sweep_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        # the first trial is done and the second one's job runs, held
        while not list(project.glob("multirun/*/*/1/started")):
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) != 0
    resume = printed_command(log_path.read_text(), "Resume this sweep with")
    assert len(list(project.glob("multirun/*/*/*/trial.json"))) == 1
    assert "hydra.sweeper.count=2" in resume
    go.touch()  # the resumed run's jobs run through

    resumed = run_pasted(resume, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    # three trials in all, as the first command asked: not three more
    assert len(list(project.glob("multirun/*/*/*/trial.json"))) == 3
