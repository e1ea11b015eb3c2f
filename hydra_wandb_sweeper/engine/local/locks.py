"""Locks between processes that die with their holder.

A lock is a POSIX record lock (``fcntl``) on a lock file: the kernel (or the NFS lock
manager) drops it when the holding process exits, however it exits, so a ``kill -9`` never
leaves a stale lock behind and nobody waits out a grace period. POSIX locks belong to the
process, not the thread, and closing *any* descriptor of the file drops them, so each lock
file is opened once per process and guarded by a re-entrant thread lock as well.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from hydra_wandb_sweeper.interrupts import interruptible_wait, wait_limit

log = logging.getLogger(__name__)


class ReentrantLock:
    """Re-entrant across this process's threads; the outermost hold takes the lock that
    excludes other processes (:meth:`_acquire`), and its end lets it go (:meth:`_release`)."""

    def _init_reentrant(self) -> None:
        self._thread_lock = threading.RLock()
        self._depth = 0

    def _acquire(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        # Waiting for another thread or process is not writing: Ctrl+C ends the wait.
        with interruptible_wait():
            self._thread_lock.acquire()
        try:
            if self._depth == 0:
                with interruptible_wait():
                    self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()
        finally:
            self._thread_lock.release()


class ProcessFileLock(ReentrantLock):
    """An exclusive lock on ``path`` shared by every thread and process that opens it."""

    _registry: ClassVar[dict[str, ProcessFileLock]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __new__(cls, path: str | Path) -> ProcessFileLock:
        key = os.path.abspath(path)
        with cls._registry_lock:
            lock = cls._registry.get(key)
            if lock is None or lock._pid != os.getpid():  # a forked child needs its own
                lock = super().__new__(cls)
                lock._init(key)
                cls._registry[key] = lock
            return lock

    def _init(self, path: str) -> None:
        self._init_reentrant()
        self.path = path
        self._pid = os.getpid()
        self._fd: int | None = None

    def _acquire(self) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        limit = wait_limit()
        if limit is None:
            if not _try_lock(self._fd):
                _say_if_holder_is_stopped(self._fd, self.path)
                fcntl.lockf(self._fd, fcntl.LOCK_EX)
            return
        deadline = time.monotonic() + limit  # a process that is ending: a bounded wait
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as error:
                if error.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    errno.ETIMEDOUT, f"another process held the lock {self.path} for {limit:g} s"
                )
            time.sleep(0.05)

    def _release(self) -> None:
        assert self._fd is not None
        fcntl.lockf(self._fd, fcntl.LOCK_UN)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


# struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid (natively aligned)
_FLOCK = "hhqqi4x"


def _say_if_holder_is_stopped(fd: int, path: str) -> None:
    """A process stopped (Ctrl+Z, SIGSTOP, a debugger) while it holds the lock keeps it until
    it continues, and every other process of the sweep waits: say which one, once."""
    try:
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        holder = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, query))[4]
        with open(f"/proc/{holder}/stat", "rb") as file:
            stat = file.read()
    except (OSError, struct.error):
        return  # another machine's process (NFS), or one that is gone already
    if stat[stat.rfind(b")") + 2 :][:1] in (b"T", b"t") and (path, holder) not in _said:
        _said.add((path, holder))
        log.warning(
            f"Waiting for process {holder}, which holds the sweep's lock {path} and is "
            f"stopped (Ctrl+Z, SIGSTOP or a debugger): `kill -CONT {holder}` lets it and "
            "this process go on"
        )


_said: set[tuple[str, int]] = set()
