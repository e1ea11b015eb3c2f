"""Errors a user can cause, each naming the config key, the bad value and what was expected."""

from __future__ import annotations

from hydra.errors import CompactHydraException


class SweepConfigError(CompactHydraException, ValueError):
    """The sweep configuration or a sweep override is invalid; raised before any trial starts.

    ``key`` is where the problem is, written as the user would look for it
    (``hydra.sweeper.parameters.optimizer.lr``, ``hydra.sweeper.method``, or a command-line
    override such as ``optimizer.lr=interval(1,0)``). Hydra prints a compact exception as
    its message alone, with no traceback, and exits with status 1.
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # raised in a worker process (joblib, submitit), it must unpickle in the sweeper
        return type(self), (self.key, self.message)


class SweepRuntimeError(CompactHydraException, RuntimeError):
    """The sweep cannot go on (failure budget exceeded, storage lost); finished trials are kept."""


class SweepStorageError(SweepRuntimeError):
    """The sweep's storage failed mid-sweep (full disk, read-only, locked, unreachable)."""
