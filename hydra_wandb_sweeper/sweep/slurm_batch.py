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
# How often the jobs in flight are checked for a requeue after a node failure. SLURM requeues
# such a job at once, so submitit sees NODE_FAIL only if it polls in between (on a busy
# machine, 2 runs in 3 it did not: the job then ran its trial again, unseen). sacct's
# --duplicates keeps the NODE_FAIL record.
REQUEUE_CHECK_SECONDS = 10.0
# sacct states of a job that is still to run or running
_NOT_ENDED = ("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RUNNING", "CONFIGURING")

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
    submitted_before = _submitted_jobs(launcher)
    watch = _NodeFailureWatch(launcher, submitted_before)

    def wait_for(index: int) -> None:
        try:
            (outcome,) = launcher.launch([batch[index]], initial_job_idx + index)
        except Exception as error:
            watch.cancel_if_requeued(error)
            outcomes[index] = _failed_return(batch[index], error, watch.cancelled)
        else:
            outcomes[index] = _explain_time_limit(outcome)

    # daemon threads: an interrupted sweep exits without waiting for jobs still queued
    threads = [
        threading.Thread(target=wait_for, args=(index,), name=f"slurm-trial-{index}", daemon=True)
        for index in range(len(batch))
    ]
    try:
        watch.start()
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
    finally:
        watch.stop()
    return [outcome for outcome in outcomes if outcome is not None]


def slurm_reason(error: BaseException, cancelled: dict[str, str] | None = None) -> str:
    """One line saying how SLURM ended the job, from submitit's message; ``cancelled``: the
    state of each job cancelled here after SLURM requeued it (its CANCELLED says less)."""
    text = str(error)
    state = _STATE.search(text)
    if state:
        why = _STEPD_ERROR.search(text)
        detail = f": {why['why'].strip()}" if why else ""
        ended = (cancelled or {}).get(state["job"], state["state"])
        return (
            f"SLURM job {state['job']} ended {ended} before the task returned"
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


class _NodeFailureWatch:
    """SLURM requeues a job that lost its node (NODE_FAIL): its trial is failed, so that job
    must not run it again later, unseen. Cancels such jobs of this batch, whether submitit saw
    the NODE_FAIL (its error says so) or not (sacct's earlier record says so)."""

    def __init__(self, launcher: Launcher, known: set[str]) -> None:
        self._launcher, self._known = launcher, known
        self.cancelled: dict[str, str] = {}  # job id: the state SLURM requeued it after
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="slurm-requeues", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def cancel_if_requeued(self, error: BaseException) -> None:
        state = _STATE.search(str(error))
        if state is not None and state["job"] in _queued([state["job"]]):
            self._cancel(state["job"], state["state"])

    def _watch(self) -> None:
        while not self._stopped.wait(REQUEUE_CHECK_SECONDS):
            jobs = sorted(_submitted_jobs(self._launcher) - self._known - set(self.cancelled))
            for job_id in _requeued_after_node_failure(jobs):
                self._cancel(job_id, "NODE_FAIL")

    def _cancel(self, job_id: str, state: str) -> None:
        with self._lock:
            if job_id in self.cancelled:
                return
            self.cancelled[job_id] = state
        log.warning(f"SLURM requeued job {job_id} after {state}; cancelling it")
        _cancel([job_id])


def _queued(job_ids: Sequence[str]) -> list[str]:
    try:
        return subprocess.run(
            ["squeue", "--noheader", "--format=%i", "--jobs", ",".join(job_ids)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        return []


def _requeued_after_node_failure(job_ids: Sequence[str]) -> list[str]:
    """Of ``job_ids``, those SLURM requeued after a NODE_FAIL and that have not ended since."""
    if not job_ids:
        return []
    try:
        text = subprocess.run(
            [
                *("sacct", "--noheader", "--parsable2", "--duplicates", "--allocations"),
                *("--format=JobID,State", "--jobs", ",".join(job_ids)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return node_failed_and_requeued(text)


def node_failed_and_requeued(sacct_records: str) -> list[str]:
    """The jobs whose ``sacct --duplicates`` records (``JobID|State`` lines, oldest first)
    hold a NODE_FAIL followed by a state that has not ended."""
    states: dict[str, list[str]] = {}
    for line in sacct_records.splitlines():
        job_id, _, state = line.partition("|")
        states.setdefault(job_id, []).append(state.split(" ")[0])
    return [
        job_id
        for job_id, history in states.items()
        if "NODE_FAIL" in history[:-1] and history[-1] in _NOT_ENDED
    ]


def _explain_time_limit(result: JobReturn) -> JobReturn:
    """A job that submitit's signal handler ended inside the task (a time limit it would not
    requeue) fails with that error; say it in SLURM's terms."""
    error = job_error(result)
    if isinstance(error, BaseException) and _NOT_REQUEUED.search(str(error)):
        failure = SlurmJobEnded(slurm_reason(error))
        failure.__cause__ = error
        set_job_error(result, failure)
    return result


def _failed_return(
    overrides: Sequence[str], error: BaseException, cancelled: dict[str, str] | None = None
) -> JobReturn:
    failure = SlurmJobEnded(slurm_reason(error, cancelled))
    failure.__cause__ = error
    return failed_job(overrides, failure)
