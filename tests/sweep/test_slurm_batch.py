"""How a SLURM job's end reads as a trial's error (submitit's messages, no cluster needed)."""

from __future__ import annotations

from hydra.core.utils import JobReturn, JobStatus

from hydra_wandb_sweeper.sweep.slurm_batch import (
    SlurmJobEnded,
    _explain_time_limit,
    _failed_return,
    node_failed_and_requeued,
    slurm_reason,
)

CANCELLED = (
    "Job 4711 (task: 0) with path /sweep/.submitit/4711/4711_0_result.pkl\n"
    "has not produced any output (state: CANCELLED by 1000)\n"
    "Error stream produced:\n----------------------------------------\nslurmstepd: ..."
)


def test_a_job_without_output_names_its_id_and_slurms_state():
    assert slurm_reason(RuntimeError(CANCELLED)) == (
        "SLURM job 4711 ended CANCELLED by 1000 before the task returned "
        "(its logs: /sweep/.submitit/4711)"
    )
    for state in ("TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"):
        text = CANCELLED.replace("CANCELLED by 1000", state)
        assert f"ended {state} before" in slurm_reason(RuntimeError(text))


def test_slurmstepds_own_words_say_why_a_job_was_killed():
    text = CANCELLED.replace("CANCELLED by 1000", "FAILED").replace(
        "slurmstepd: ...",
        "slurmstepd-node7: error: StepId=12.0 exceeded memory limit (370884608 > 104857600), "
        "being killed\nslurmstepd-node7: error: *** STEP 12.0 ON node7 CANCELLED AT 2026 ***",
    )
    assert slurm_reason(RuntimeError(text)) == (
        "SLURM job 4711 ended FAILED before the task returned: StepId=12.0 exceeded memory "
        "limit (370884608 > 104857600), being killed (its logs: /sweep/.submitit/4711)"
    )


def test_a_timeout_that_submitit_did_not_requeue_names_the_settings():
    reason = slurm_reason(RuntimeError("Job not requeued because: timed-out too many times."))
    assert reason.startswith("SLURM signalled the job near its time limit")
    assert "(timed-out too many times)" in reason
    assert "hydra.launcher.timeout_min" in reason and "hydra.launcher.max_num_timeout" in reason


def test_any_other_error_keeps_its_first_line():
    assert slurm_reason(RuntimeError("sbatch: error: invalid partition\nmore")) == (
        "the SLURM job failed: sbatch: error: invalid partition"
    )


def test_a_failed_return_raises_the_reason_like_a_jobs_own_error():
    result = _failed_return(["x=1"], RuntimeError(CANCELLED))
    assert result.status is JobStatus.FAILED and result.overrides == ["x=1"]
    try:
        result.return_value  # noqa: B018
    except SlurmJobEnded as error:
        assert str(error).startswith("SLURM job 4711 ended CANCELLED")
    else:
        raise AssertionError("return_value must raise")


def test_a_task_ended_by_submitits_handler_is_explained_other_failures_are_kept():
    timed_out = JobReturn(
        overrides=[],
        status=JobStatus.FAILED,
        _return_value=RuntimeError("Job not requeued because: timed-out too many times."),
    )
    assert isinstance(_explain_time_limit(timed_out)._return_value, SlurmJobEnded)
    own = ValueError("x is too large")
    failed = JobReturn(overrides=[], status=JobStatus.FAILED, _return_value=own)
    assert _explain_time_limit(failed)._return_value is own


def test_a_job_requeued_after_a_node_failure_is_found_in_sacct_s_duplicates():
    records = "\n".join(
        [
            "41_0|NODE_FAIL",  # lost its node, then requeued: to cancel
            "41_0|PENDING",
            "42_0|COMPLETED",  # ran once, ended
            "43_0|NODE_FAIL",  # lost its node and not requeued: already ended
            "44_0|NODE_FAIL",  # requeued and ran to its end again: nothing to cancel
            "44_0|COMPLETED",
            "45_0|PREEMPTED",  # requeued after a preemption: submitit's own business
            "45_0|RUNNING",
            "46_0|NODE_FAIL",
            "46_0|CANCELLED by 0",
        ]
    )
    assert node_failed_and_requeued(records) == ["41_0"]
