"""The verbs W&B users have: create a sweep and start its agents later (``count=0``, as
``wandb sweep`` then ``wandb agent``), a sweep named by its W&B path, a forgotten ``-m``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.sweeper_helpers import (
    APP,
    run_checked,
    run_sweep,
    sweep_env,
    trial_records,
)

pytestmark = pytest.mark.slow

RANDOM = ["hydra.sweeper.method=random", "hydra.sweeper.metric.name=loss", "x=interval(-2,2)"]
GRID = ["hydra.sweeper.method=grid", "hydra.sweeper.metric.name=loss", "x=-1,0,1"]


def _printed_after(output: str, heading: str) -> str:
    """The command printed on the line after ``heading``, without the log prefix."""
    lines = output.splitlines()
    index = next(i for i, line in enumerate(lines) if heading in line)
    return lines[index + 1].split("]   ", 1)[1]


def _run_shell(command: str, tmp_path) -> subprocess.CompletedProcess[str]:
    return run_checked(
        ["bash", "-c", command], cwd=tmp_path, env=sweep_env(tmp_path), check=True, timeout=300
    )


def test_count_0_creates_the_sweep_and_prints_how_to_start_agents(tmp_path):
    created = run_sweep(tmp_path, *RANDOM, "hydra.sweeper.count=0")
    output = created.stdout + created.stderr
    assert "count=0: no trial runs here" in output
    assert not trial_records(tmp_path)
    agent = _printed_after(output, "Start an agent")
    assert agent.endswith("hydra.sweeper.count=COUNT") and "count=0" not in agent
    slurm = _printed_after(output, "Or as a SLURM job array")
    assert slurm.startswith("sh -c ")
    assert " sbatch --array=0-3 sweep_agents.sbatch COUNT " in slurm
    assert "hydra.sweeper.count" not in slurm  # the script sets it
    # the agent command, with its COUNT filled in, runs trials of the created sweep
    _run_shell(agent.replace("COUNT", "2"), tmp_path)
    assert len(trial_records(tmp_path)) == 2
    # as written, COUNT is refused (one line naming the key and the value) before anything runs
    refused = subprocess.run(
        ["bash", "-c", agent],
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "hydra.sweeper.count: got 'COUNT', expected a positive integer" in refused.stderr
    assert len(trial_records(tmp_path)) == 2


def test_count_0_on_a_grid_prints_agents_that_run_to_its_end(tmp_path):
    created = run_sweep(tmp_path, *GRID, "hydra.sweeper.count=0")
    agent = _printed_after(created.stdout + created.stderr, "Start an agent")
    assert agent.endswith("hydra.sweeper.count=null")
    _run_shell(agent, tmp_path)
    assert sorted(r["config"]["x"] for r in trial_records(tmp_path)) == [-1, 0, 1]


def test_a_local_sweep_given_as_entity_project_id_is_joined(tmp_path):
    created = run_sweep(tmp_path, *GRID, "hydra.sweeper.count=1", "hydra.sweeper.seed=0")
    output = created.stdout + created.stderr
    sweep_id = output.split("W&B sweep ", 1)[1].split()[0]
    joined = run_sweep(
        tmp_path,
        *GRID,
        f"hydra.sweeper.sweep_id=me/my-project/{sweep_id}",
        "hydra.sweeper.count=1",
        sweep_dir="joined",
    )
    assert f"so this joins the local sweep {sweep_id}" in joined.stdout + joined.stderr
    assert len(trial_records(tmp_path)) + len(trial_records(tmp_path, "joined")) == 2


def test_an_unknown_entity_project_id_says_why_it_is_not_found(tmp_path):
    run_sweep(tmp_path, *GRID, "hydra.sweeper.count=1")
    refused = run_sweep(tmp_path, *GRID, "hydra.sweeper.sweep_id=me/my-project/nosuch", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    (line,) = [line for line in refused.stderr.splitlines() if "hydra.sweeper.sweep_id" in line]
    assert "got 'me/my-project/nosuch', a W&B sweep path (ENTITY/PROJECT/ID)" in line
    assert "no sweep 'nosuch'" in line and "hydra.sweeper.engine=wandb" in line


HINT = "add -m to run the sweep"


def _single_run(tmp_path, *overrides: str) -> str:
    completed = run_checked(
        [
            sys.executable,
            str(APP),
            "hydra/sweeper=wandb",
            f"hydra.run.dir={tmp_path}/run",
            *overrides,
        ],
        cwd=tmp_path,
        env=sweep_env(tmp_path),
        check=True,
        timeout=300,
    )
    return completed.stdout + completed.stderr


def test_a_forgotten_m_with_a_search_space_gets_one_line(tmp_path):
    output = _single_run(tmp_path, "+hydra.sweeper.parameters.x={min: -2.0, max: 2.0}")
    assert output.count(HINT) == 1, output
    # a single run asked for (as the printed re-run command asks), or no search space: silent
    asked = _single_run(
        tmp_path, "+hydra.sweeper.parameters.x={min: -2.0, max: 2.0}", "hydra.mode=RUN"
    )
    assert HINT not in asked
    assert HINT not in _single_run(tmp_path)
