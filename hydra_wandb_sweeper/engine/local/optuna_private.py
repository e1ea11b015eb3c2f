"""Every Optuna API the embedded engine uses that Optuna does not document as public.

Each name here is checked by ``tests/test_upstream_apis.py`` against the installed
Optuna, so a release that renames or drops one fails that test by name instead of failing a
sweep (or, worse, silently doing nothing: an override of a method that no longer exists is
never called).
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.storages.journal._base import BaseJournalSnapshot

# A journal backend that also derives from this is handed Optuna's replayed state every 100
# trials and asked for it when a JournalStorage opens (journal.py's snapshots).
JournalSnapshot = BaseJournalSnapshot

# Optuna's GPSampler calls this with the finished trials it fits on (Optuna >= 4.8); the
# bounded GP overrides it to fit on a subset. Named here so that the check above sees it.
GP_FIT_METHOD = "_sample_relative_impl"
# GPSampler's number of local searches of the acquisition function (10 in Optuna 4.x-5.x).
GP_LOCAL_SEARCH_ATTR = "_n_local_search"


def shared_rdb_storage(storage: optuna.storages.RDBStorage) -> optuna.storages.BaseStorage:
    """The object Optuna itself wraps an RDB storage in (its trial cache).

    ``optuna.create_study``/``load_study`` wrap an ``RDBStorage`` in a cache of the trials
    this process created; a trial created through the bare storage is missing from that
    cache, and the first ``suggest_*`` on it raised ``KeyError``. Handing Optuna the wrapped
    object makes the engine's writes and Optuna's go through one cache.
    """
    return optuna.storages.get_storage(storage)


def sql_engine(storage: optuna.storages.BaseStorage) -> Any:
    """The SQLAlchemy engine under an RDB storage, wrapped in Optuna's cache or not."""
    backend: Any = getattr(storage, "_backend", storage)
    return backend.engine


def trials_cached(study: optuna.Study, states: tuple[Any, ...]) -> list[Any]:
    """The study's trials in ``states`` from its in-process cache (no copy, no re-read of
    what this process already knows): what Optuna's own samplers read."""
    return study._get_trials(deepcopy=False, states=states, use_cache=True)
