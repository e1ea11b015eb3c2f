"""The sweeper's errors cross process boundaries (a job in a joblib or submitit worker)."""

from __future__ import annotations

import pickle

from hydra_wandb_sweeper.errors import SweepConfigError, SweepStorageError


def test_errors_raised_in_a_worker_unpickle_in_the_sweeper():
    config = pickle.loads(pickle.dumps(SweepConfigError("hydra.sweeper.count", "expected 1+")))
    assert (config.key, config.message) == ("hydra.sweeper.count", "expected 1+")
    assert str(config) == "hydra.sweeper.count: expected 1+"
    storage = pickle.loads(pickle.dumps(SweepStorageError("the disk is full")))
    assert str(storage) == "the disk is full"
