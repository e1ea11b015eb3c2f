"""Agents of one sweep as a SLURM job array (the package's sweep_agents.sbatch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.slurm import wait_until
from tests.support.sweeper_helpers import (
    results,
    run_sweep,
    split_printed,
    sweep_env,
    trial_records,
)

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = (
    Path(__file__).resolve().parents[2] / "hydra_wandb_sweeper" / "sweep" / "sweep_agents.sbatch"
)
JOIN_LINE = "Join this sweep from another terminal or machine: "


def join_command(output: str) -> tuple[str, list[str]]:
    """The printed join command: the folder, and the command to run there."""
    line = next(line for line in output.splitlines() if JOIN_LINE in line)
    return split_printed(line.split(JOIN_LINE, 1)[1])


def test_two_agents_in_a_job_array_share_one_sweep(slurm, tmp_path):
    # This process opens a 5-point grid and runs one trial; the array's two agents run the
    # other four, two each, one at a time, through the journal on the shared temp folder.
    opened = run_sweep(
        tmp_path,
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize}",
        "hydra.sweeper.count=1",
        "x=choice(0,1,2,3,4)",
    )
    folder, command = join_command(opened.stdout + opened.stderr)
    env = {**sweep_env(tmp_path), **slurm.environment()}
    submitted = slurm.run(
        "sbatch",
        "--parsable",
        "--array=0-1",
        f"--chdir={folder}",  # as the printed command's `cd` would
        f"--output={tmp_path / 'agent-%A_%a.out'}",
        str(SCRIPT),
        "2",
        *command,
        env=env,
    )
    array_id = submitted.stdout.strip()
    ended = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")

    def agents_done() -> bool:
        rows = [row for row in slurm.accounting(array_id) if "." not in row["JobID"]]
        return len(rows) == 2 and all(row["State"].split()[0] in ended for row in rows)

    wait_until(agents_done, 180, "the two agents did not end", interval=0.5)
    logs = "\n".join(path.read_text() for path in sorted(tmp_path.glob("agent-*.out")))
    states = {
        row["JobID"]: row["State"] for row in slurm.accounting(array_id) if "." not in row["JobID"]
    }
    assert set(states.values()) == {"COMPLETED"}, f"{states}\n{logs[-4000:]}"

    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 5
    assert summary["best_params"] == {"x": 1}
    records = trial_records(tmp_path)
    assert sorted(record["config"]["x"] for record in records) == [0, 1, 2, 3, 4]
    per_agent: dict[str | None, int] = {}
    for record in records:
        per_agent[record["slurm_job_id"]] = per_agent.get(record["slurm_job_id"], 0) + 1
    assert sorted(per_agent.values()) == [1, 2, 2], "the first trial here, two per agent"
    assert per_agent[None] == 1
