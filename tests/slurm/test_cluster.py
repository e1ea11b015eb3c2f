"""The fixture's cluster: jobs run, and accounting tells how each ended."""

from __future__ import annotations

import pytest

from tests.support.slurm import wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def submit(slurm, tmp_path, script: str) -> str:
    completed = slurm.run(
        "sbatch", "--parsable", f"--output={tmp_path / '%j.out'}", "--wrap", script
    )
    return completed.stdout.strip()


def final_state(slurm, job_id: str) -> str:
    ended = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")

    def done() -> bool:
        rows = slurm.accounting(job_id)
        return bool(rows) and rows[0]["State"].split()[0] in ended

    wait_until(done, 60, f"job {job_id} did not end")
    return slurm.accounting(job_id)[0]["State"]


def test_a_job_runs_and_accounting_records_it(slurm, tmp_path):
    assert slurm.started_in < 60
    job_id = submit(slurm, tmp_path, "echo ran on $SLURM_JOB_PARTITION")
    assert final_state(slurm, job_id) == "COMPLETED"
    assert (tmp_path / f"{job_id}.out").read_text().strip() == "ran on debug"


def test_a_cancelled_job_is_cancelled_in_accounting(slurm, tmp_path):
    job_id = submit(slurm, tmp_path, "sleep 300")
    wait_until(lambda: job_id in slurm.job_ids(), 30, "the job did not queue")
    slurm.run("scancel", job_id)
    assert final_state(slurm, job_id).startswith("CANCELLED")
