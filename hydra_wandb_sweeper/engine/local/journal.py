"""The journal file the embedded engine keeps sweeps in, made to survive any kill or full disk.

Optuna's journal is an append-only file of JSON lines, one per storage operation. Its own file
backend fails in two ways that lose whole sweeps: a line torn by a kill or a full disk is
ignored on read but appended to on the next write, which makes every later line (and, for
Optuna, the whole file) unreadable; and its lock file outlives a killed writer, so the next
writer waits out a 30 s grace period. This backend:

- takes a POSIX lock (:mod:`.locks`) that dies with its holder, so there is no stale lock;
- before each write, cuts a torn tail (bytes after the last newline, which only a writer that
  died holding the lock can leave) back to the last whole line, copying it to
  ``<journal>.torn`` first, so that nothing is appended to a torn line;
- undoes its own partial write when the disk is full or the file cannot be written, and
  raises; the file is left as it was;
- skips lines that are not JSON (garbage, or a torn line an older writer appended to; the
  operation written after the tear is recovered) instead of refusing the whole file;
- skips, with a warning, an operation this version of Optuna does not know (a line written
  by a newer version), which Optuna's replay would stop at with an ``AssertionError``.

A reader takes only lines that end with a newline, so it never sees a write in progress.
The same lock serialises grid claims (see :mod:`.claims`) with every write.

Snapshots: every 100 trials Optuna hands the backend its replayed state (a pickle), which is
kept in ``<journal>.snapshot`` beside the byte offset and operation number it covers. A new
process (a joiner, a SLURM array task, ``show``, ``list``) loads it and replays only the lines
written after it, instead of the whole history. A snapshot that no longer matches the journal
(another file at that path, a shorter file, another Optuna) is ignored, never trusted.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import optuna
from optuna.storages.journal import BaseJournalBackend
from optuna.storages.journal._storage import JournalOperation  # private: Optuna's own list

from hydra_wandb_sweeper.engine.local.locks import ProcessFileLock
from hydra_wandb_sweeper.engine.local.optuna_private import JournalSnapshot
from hydra_wandb_sweeper.interrupts import deferred_interrupts, note_written

log = logging.getLogger(__name__)
LOCK_SUFFIX = ".fcntl-lock"
TORN_SUFFIX = ".torn"
SNAPSHOT_SUFFIX = ".snapshot"
_OP_START = b'{"op_code":'
_KNOWN_OPERATIONS = frozenset(operation.value for operation in JournalOperation)
_SNAPSHOT_MAGIC = b"hydra-wandb-sweeper journal snapshot 1\n"
# The journal bytes just before a snapshot's offset, hashed: they tie it to this journal.
_SNAPSHOT_CHECK_BYTES = 4096


def open_journal(path: str, *, read_only: bool = False) -> optuna.storages.JournalStorage:
    """Optuna's journal storage on :class:`SafeJournalBackend`, its history read with the
    garbage collector paused and then frozen out of its scans.

    The history is hundreds of thousands of objects that live as long as the process; left
    in the collector's generations, every full collection walks them all, which cost a new
    process 0.26 s of CPU in its first ``ask`` at 5000 trials (0.07 s frozen).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        storage = optuna.storages.JournalStorage(SafeJournalBackend(path, read_only=read_only))
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return storage


class SafeJournalBackend(BaseJournalBackend, JournalSnapshot):
    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.lock = ProcessFileLock(path + LOCK_SUFFIX)
        if read_only:  # a reader takes no lock and creates nothing: it may not write here
            os.close(os.open(path, os.O_RDONLY))
        else:
            # the first writer of a new file; a folder that cannot hold it fails here, at open
            with self.lock.held():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666))
        self._next_number = 0  # the number of the next operation this reader yields
        self._offset = 0  # where that operation's line starts
        self._skipped = 0
        self._unknown: set[Any] = set()

    # --- reading ----------------------------------------------------------------------------
    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        if log_number_from < self._next_number:  # a reader that starts over
            self._next_number, self._offset = 0, 0
        with open(self.path, "rb") as file:
            file.seek(self._offset)
            data = file.read()
        whole = data[: data.rfind(b"\n") + 1]  # a line without its newline is being written
        for line in whole.split(b"\n")[:-1]:
            self._offset += len(line) + 1
            operation = _decode(line)
            if operation is None:
                self._note_skipped(line)
                continue
            if operation["op_code"] not in _KNOWN_OPERATIONS:
                self._note_unknown(operation["op_code"])
                continue
            number = self._next_number
            self._next_number += 1
            if number >= log_number_from:
                yield operation

    # --- snapshots --------------------------------------------------------------------------
    def save_snapshot(self, snapshot: bytes) -> None:
        """Called by Optuna right after it replayed everything this reader has read, so the
        snapshot covers the journal up to this reader's offset."""
        if self.read_only:
            return  # a reader that may not write leaves the next snapshot to a writer
        header = {
            "offset": self._offset,
            "operations": self._next_number,
            "check": self._check(self._offset),
            "optuna": optuna.__version__,
        }
        folder = os.path.dirname(os.path.abspath(self.path))
        # written beside the journal, then renamed: a reader sees the old or the new one whole
        fd, temporary = tempfile.mkstemp(prefix=".snapshot-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(_SNAPSHOT_MAGIC + json.dumps(header).encode() + b"\n" + snapshot)
            os.replace(temporary, self.path + SNAPSHOT_SUFFIX)
        except OSError:
            # a snapshot only saves time: a full disk must not fail the trial that made it
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def load_snapshot(self) -> bytes | None:
        try:
            with open(self.path + SNAPSHOT_SUFFIX, "rb") as file:
                data = file.read()
        except OSError:
            return None
        if not data.startswith(_SNAPSHOT_MAGIC):
            return None
        end = data.find(b"\n", len(_SNAPSHOT_MAGIC))
        try:
            header = json.loads(data[len(_SNAPSHOT_MAGIC) : end])
            offset, operations = int(header["offset"]), int(header["operations"])
        except (ValueError, KeyError, TypeError):
            return None
        if header.get("optuna") != optuna.__version__ or header.get("check") != self._check(offset):
            return None
        self._offset, self._next_number = offset, operations
        return data[end + 1 :]

    def _check(self, offset: int) -> str | None:
        """A digest of the journal's bytes before ``offset``; None if it is shorter."""
        start = max(0, offset - _SNAPSHOT_CHECK_BYTES)
        try:
            with open(self.path, "rb") as file:
                file.seek(start)
                data = file.read(offset - start)
        except OSError:
            return None
        if len(data) != offset - start:
            return None
        return hashlib.sha256(data).hexdigest()

    def _note_skipped(self, line: bytes) -> None:
        self._skipped += 1
        if self._skipped == 1:
            log.warning(
                f"Skipped an unreadable line in the sweep journal {self.path} "
                f"({line[:60]!r}...); the other lines are read as usual"
            )

    def _note_unknown(self, op_code: Any) -> None:
        if op_code not in self._unknown:
            self._unknown.add(op_code)
            log.warning(
                f"Skipped an operation the sweep journal {self.path} holds that this version "
                f"of Optuna does not know (op_code {op_code!r}: written by a newer version?); "
                "the other lines are read as usual"
            )

    # --- writing ----------------------------------------------------------------------------
    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if self.read_only:
            raise PermissionError(errno.EROFS, f"{self.path} was opened for reading only")
        payload = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in logs)
        with deferred_interrupts(), self.lock.held():
            note_written()  # from here on a signal waits for the write to end
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                end = self._cut_torn_tail(fd)
                try:
                    _write_all(fd, payload.encode("utf-8"), end)
                    os.fsync(fd)
                except OSError:
                    # disk full, quota, a file made read-only: leave the file as it was
                    with contextlib.suppress(OSError):  # else the next writer cuts it
                        os.ftruncate(fd, end)
                    raise
            finally:
                os.close(fd)

    def _cut_torn_tail(self, fd: int) -> int:
        """The size of the file up to its last whole line, after cutting anything beyond."""
        size = os.fstat(fd).st_size
        if size == 0:
            return 0
        chunk = 1 << 16
        end = size
        while end > 0:
            start = max(0, end - chunk)
            data = os.pread(fd, end - start, start)
            newline = data.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end == size:
            return size
        torn = os.pread(fd, size - end, end)
        with open(self.path + TORN_SUFFIX, "ab") as backup:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            backup.write(f"# {stamp}: {size - end} bytes cut at offset {end}\n".encode())
            backup.write(torn + b"\n")
        os.ftruncate(fd, end)
        os.fsync(fd)
        log.warning(
            f"The sweep journal {self.path} ended in a torn line (a process killed while "
            f"writing, or a full disk): cut it back to its last whole line; the {size - end} "
            f"bytes cut are kept in {self.path + TORN_SUFFIX}"
        )
        return end


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _decode(line: bytes) -> dict[str, Any] | None:
    """One operation, or None for a line that holds none; an operation appended to a torn
    line by an older writer is recovered from the end of that line."""
    for start in (0, line.rfind(_OP_START)):
        if start < 0:
            continue
        try:
            operation = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(operation, dict) and "op_code" in operation:
            return operation
    return None
