"""Who runs a trial, and how to tell that they are gone.

A running trial names its owner (the sweeper process that claimed it) and, once its task
starts, the process that runs it (the same one with the basic launcher, a worker with
joblib or submitit). Each writes a heartbeat while the trial runs.
On the same machine, a trial is an orphan when every process that runs it is provably gone:
its pid is free or a zombie (killed, not yet reaped by its parent), or now belongs to a
process started at another time (pid reuse), or the machine rebooted. A process that is
alive keeps its trial however late its heartbeat: one suspended (Ctrl+Z, SIGSTOP, a
debugger) goes on with it when it continues. On another machine, whose processes cannot be
checked from here, a trial is an orphan when its heartbeats are older than
:data:`STALE_AFTER_SECONDS`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from functools import cache
from typing import Any

from optuna.trial import FrozenTrial

# the sweeper that claimed a trial, and the process that runs its task (their heartbeats)
from hydra_wandb_sweeper.engine.local.sweep_format import (
    JOB_ATTR,
    JOB_BEAT_ATTR,
    OWNER_ATTR,
    OWNER_BEAT_ATTR,
)

HEARTBEAT_SECONDS = float(os.environ.get("HYDRA_WANDB_SWEEPER_HEARTBEAT_SECONDS", 30.0))
STALE_AFTER_SECONDS = 20 * HEARTBEAT_SECONDS
HOST = socket.gethostname()


@cache
def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            return file.read().strip()
    except OSError:
        return None


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), None where
    unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            stat = file.read()
    except OSError:
        return None
    # the command name may hold spaces or parentheses: fields count from the last ')'
    return stat[stat.rfind(b")") + 2 :].split()


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), None where unknown."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def _is_zombie(pid: int) -> bool:
    """Ended but not yet reaped by its parent: gone, although its pid still answers."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] in (b"Z", b"X")


def identity(pid: int | None = None) -> dict[str, Any]:
    """This process (or ``pid`` on this machine), as stored on the trials it runs."""
    pid = os.getpid() if pid is None else pid
    return {"host": HOST, "boot": _boot_id(), "pid": pid, "start": _start_ticks(pid)}


def is_gone(process: Any) -> bool:
    """True when ``process`` (an :func:`identity`) is provably gone; False when it is alive
    or cannot be checked from here (another machine: its heartbeat decides)."""
    if not isinstance(process, Mapping) or process.get("host") != HOST:
        return False
    pid = process.get("pid")
    if not isinstance(pid, int):
        return False
    if process.get("boot") not in (None, _boot_id()):
        return True  # the machine rebooted since
    if not _pid_exists(pid) or _is_zombie(pid):
        return True
    started = process.get("start")
    return started is not None and started != _start_ticks(pid)


def is_here(process: Any) -> bool:
    """Whether ``process`` ran on this machine since its last boot, so that :func:`is_gone`
    tells for sure whether it is alive."""
    return (
        isinstance(process, Mapping)
        and process.get("host") == HOST
        and isinstance(process.get("pid"), int)
        and process.get("boot") in (None, _boot_id())
    )


def is_this_process(process: Any) -> bool:
    return isinstance(process, Mapping) and dict(process) == identity()


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def is_orphan(trial: FrozenTrial, now: float) -> bool:
    """A RUNNING trial whose processes are gone (see the module docstring). This process's
    own live trials are never passed here."""
    attrs = trial.user_attrs
    owner = attrs.get(OWNER_ATTR)
    if is_this_process(owner):
        return True  # named as ours but not live here: a claim this process lost track of
    job = attrs.get(JOB_ATTR)
    runners = [owner] if job is None or is_this_process(job) else [owner, job]
    if all(is_here(process) for process in runners):
        return all(is_gone(process) for process in runners)  # alive: however late it beats
    if now - _last_beat(trial, now) > STALE_AFTER_SECONDS:
        return True
    return is_gone(owner) and (job is None or is_this_process(job) or is_gone(job))


def why_orphaned(trial: FrozenTrial, now: float) -> str:
    """Why :func:`is_orphan` took ``trial``: a process of another machine whose heartbeat is
    late may be suspended (a laptop lid) or cut off rather than ended, and the message must
    not say it ended."""
    owner = trial.user_attrs.get(OWNER_ATTR) or {}
    who = f"{owner.get('host')}:{owner.get('pid')}" if isinstance(owner, Mapping) else "?"
    silent = now - _last_beat(trial, now)
    if not is_here(owner) and silent > STALE_AFTER_SECONDS:
        return (
            f"its process ({who}) sent no heartbeat for {silent:.0f} s: it ended, or is "
            "suspended or cut off from the storage (a result it records later is kept)"
        )
    return f"its process ({who}) ended before the trial did"


def _last_beat(trial: FrozenTrial, now: float) -> float:
    attrs = trial.user_attrs
    started = trial.datetime_start.timestamp() if trial.datetime_start else now
    beats = [attrs.get(name) for name in (OWNER_BEAT_ATTR, JOB_BEAT_ATTR)]
    return max([float(beat) for beat in beats if beat is not None] or [started])
