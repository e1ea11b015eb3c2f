"""A batch of trials on SLURM (``hydra/launcher=submitit_slurm``): one SLURM job per trial.

Hydra's submitit launcher submits a batch as one job array and raises as soon as one job of
it ended without a result (cancelled, time limit, out of memory, node failure), while the
others may still be running. Here each trial is its own ``launch`` of one job, waited for in
its own thread, so that ``n_jobs`` trials are in flight and one job's end decides only its
own trial: a job SLURM ended is a failed trial that says how SLURM ended it.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher

from hydra_wandb_sweeper.upstream_private import (
    failed_job,
    job_error,
    launcher_executor,
    set_job_error,
)

# submitit's words for a job that ended without a result, with sacct's state in brackets
_STATE = re.compile(
    r"Job (?P<job>\S+) \(task: \d+\) with path (?P<result>\S+)\s+"
    r"has not produced any output \(state: (?P<state>[^)]*)\)"
)
# what slurmstepd wrote to the job's error stream, e.g. "StepId=12.0 exceeded memory limit
# (370884608 > 104857600), being killed"; its "*** ... CANCELLED AT ... ***" lines say no more
_STEPD_ERROR = re.compile(r"^slurmstepd\S*: error: (?P<why>(?!\*\*\*)[^\n]+)$", re.MULTILINE)
_JOB_ID = re.compile(r"\d+(_\d+)?")
_NOT_REQUEUED = re.compile(r"Job not requeued because: (?P<why>[^\n]*)")

log = logging.getLogger(__name__)


class SlurmJobEnded(RuntimeError):
    """The trial's SLURM job ended before its task returned (SLURM's reason in the message)."""


def is_slurm_launcher(launcher: Launcher) -> bool:
    return launcher_executor(launcher) == "slurm"


def launch_batch(
    launcher: Launcher, batch: Sequence[Sequence[str]], initial_job_idx: int
) -> Sequence[JobReturn]:
    """Every trial's ``JobReturn``, in order; a SLURM job that ended early is a failed one."""
    if not is_slurm_launcher(launcher) or len(batch) == 0:
        return launcher.launch(batch, initial_job_idx=initial_job_idx)
    outcomes: list[JobReturn | None] = [None] * len(batch)

    def wait_for(index: int) -> None:
        try:
            (outcome,) = launcher.launch([batch[index]], initial_job_idx + index)
        except Exception as error:
            outcomes[index] = _failed_return(batch[index], error)
            _cancel_if_requeued(error)
        else:
            outcomes[index] = _explain_time_limit(outcome)

    # daemon threads: an interrupted sweep exits without waiting for jobs still queued
    threads = [
        threading.Thread(target=wait_for, args=(index,), name=f"slurm-trial-{index}", daemon=True)
        for index in range(len(batch))
    ]
    submitted_before = _submitted_jobs(launcher)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except BaseException:
        # Ctrl+C or SIGTERM: the sweep releases these trials (a grid point is queued again),
        # so their jobs must not run on and record results after it
        in_flight = sorted(_submitted_jobs(launcher) - submitted_before)
        if in_flight:
            log.warning(f"Cancelling the SLURM jobs of the trials in flight: {' '.join(in_flight)}")
        _cancel(in_flight)
        raise
    return [outcome for outcome in outcomes if outcome is not None]


def slurm_reason(error: BaseException) -> str:
    """One line saying how SLURM ended the job, from submitit's message."""
    text = str(error)
    state = _STATE.search(text)
    if state:
        why = _STEPD_ERROR.search(text)
        detail = f": {why['why'].strip()}" if why else ""
        return (
            f"SLURM job {state['job']} ended {state['state']} before the task returned"
            f"{detail} (its logs: {Path(state['result']).parent})"
        )
    not_requeued = _NOT_REQUEUED.search(text)
    if not_requeued:
        return (
            "SLURM signalled the job near its time limit (hydra.launcher.timeout_min) and it "
            f"was not requeued ({not_requeued['why'].rstrip('.')}): raise timeout_min, or set "
            "hydra.launcher.max_num_timeout to requeue the trial that many times"
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"the SLURM job failed: {first_line}"


def _submitted_jobs(launcher: Launcher) -> set[str]:
    """SLURM ids of the jobs submitted into this sweep's submitit folder: submitit gives each
    job a folder named by its id (``hydra.launcher.submitit_folder``, ``%j`` by default)."""
    folder = str(getattr(launcher, "params", {}).get("submitit_folder", ""))
    if not folder.endswith("%j"):
        return set()
    root = Path(folder[: -len("%j")])
    if not root.is_dir():
        return set()
    return {path.name for path in root.iterdir() if _JOB_ID.fullmatch(path.name)}


def _cancel(job_ids: Sequence[str]) -> None:
    if not job_ids:
        return
    try:
        subprocess.run(["scancel", *job_ids], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        log.error(f"Could not cancel SLURM jobs {' '.join(job_ids)}: {error}")


def _cancel_if_requeued(error: BaseException) -> None:
    """SLURM requeues a job that lost its node (NODE_FAIL): its trial is failed now, so that
    job must not run it again later, unseen."""
    state = _STATE.search(str(error))
    if state is None:
        return
    job_id = state["job"]
    try:
        queued = subprocess.run(
            ["squeue", "--noheader", "--format=%i", "--jobs", job_id],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return
    if job_id in queued:
        log.warning(f"SLURM requeued job {job_id} after {state['state']}; cancelling it")
        _cancel([job_id])


def _explain_time_limit(result: JobReturn) -> JobReturn:
    """A job that submitit's signal handler ended inside the task (a time limit it would not
    requeue) fails with that error; say it in SLURM's terms."""
    error = job_error(result)
    if isinstance(error, BaseException) and _NOT_REQUEUED.search(str(error)):
        failure = SlurmJobEnded(slurm_reason(error))
        failure.__cause__ = error
        set_job_error(result, failure)
    return result


def _failed_return(overrides: Sequence[str], error: BaseException) -> JobReturn:
    failure = SlurmJobEnded(slurm_reason(error))
    failure.__cause__ = error
    return failed_job(overrides, failure)
