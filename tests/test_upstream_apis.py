"""The private upstream APIs the sweeper relies on, checked against the installed versions.

Optuna's, Hydra's, submitit's and OmegaConf's undocumented names can change in any release;
each lives behind one adapter (engine/local/optuna_private.py for Optuna's,
upstream_private.py for the others; its users named beside each check) and is checked here
through it, so that a release that moves one fails this file by name, not a sweep later (an
override of a method that no longer exists is never called and fails nothing)."""

from __future__ import annotations

import importlib
import inspect

import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, ListConfig, OmegaConf, ValueNode

from hydra_wandb_sweeper import upstream_private
from hydra_wandb_sweeper.engine.local import optuna_private

pytestmark = pytest.mark.oldest


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_optunas_gp_calls_the_fitting_hook_the_bounded_gp_overrides():
    # engine/local/samplers.py BoundedGPSampler (optuna_private.GP_FIT_METHOD)
    hook = getattr(optuna.samplers.GPSampler, optuna_private.GP_FIT_METHOD)
    # called positionally: (study, the finished trials it fits on, the others, space); Optuna
    # 4.8 names the third "trials", later releases "running_trials"
    assert parameters(hook)[:3] == ["self", "study", "completed_trials"]
    assert len(parameters(hook)) == 5
    assert optuna_private.GP_FIT_METHOD in inspect.getsource(
        optuna.samplers.GPSampler.sample_relative
    )


def test_optunas_gp_local_search_count():
    # engine/local/samplers.py BoundedGPSampler(local_searches=...)
    sampler = optuna.samplers.GPSampler(seed=0)
    assert isinstance(getattr(sampler, optuna_private.GP_LOCAL_SEARCH_ATTR), int)
    assert optuna_private.GP_LOCAL_SEARCH_ATTR in inspect.getsource(
        optuna.samplers.GPSampler._optimize_acqf
    )


def test_optunas_cached_trial_list():
    # optuna_private.trials_cached (the Sobol start-up counts finished trials with it)
    assert {"deepcopy", "states", "use_cache"} <= set(parameters(optuna.Study._get_trials))


def test_optunas_rdb_cache_is_the_object_the_engine_writes_through(tmp_path):
    # optuna_private.shared_rdb_storage / sql_engine (storage.py, claims.py)
    storage = optuna_private.shared_rdb_storage(
        optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'x.db'}")
    )
    study = optuna.create_study(storage=storage)
    assert study._storage is storage  # Optuna does not wrap it a second time
    assert optuna_private.sql_engine(storage).url.database == str(tmp_path / "x.db")
    # the BaseStorage calls the engine makes directly
    for name in (
        "create_new_trial",
        "get_trial_id_from_study_id_trial_number",
        "set_trial_user_attr",
        "get_trial_user_attrs",
        "get_study_user_attrs",
        "set_study_user_attr",
        "get_all_trials",
        "get_study_id_from_name",
    ):
        assert callable(getattr(storage, name)), name
    assert "template_trial" in parameters(storage.create_new_trial)


def test_optunas_journal_snapshot_hooks():
    # engine/local/journal.py SafeJournalBackend (optuna_private.JournalSnapshot)
    snapshot = optuna_private.JournalSnapshot
    assert parameters(snapshot.save_snapshot) == ["self", "snapshot"]
    assert parameters(snapshot.load_snapshot) == ["self"]
    journal = optuna.storages.JournalStorage
    assert "load_snapshot" in inspect.getsource(journal.__init__)
    assert "save_snapshot" in inspect.getsource(journal.create_new_trial)


def test_hydras_internals():
    # upstream_private.hydra_args_parser (sweep/commands.py reads the command line with it)
    assert upstream_private.hydra_args_parser().parse_known_args(["-m", "x=1"])[0].multirun
    # upstream_private.BASIC_LAUNCHER_LOGGER (sweep/console.py quiets it)
    assert importlib.import_module(upstream_private.BASIC_LAUNCHER_LOGGER)
    # upstream_private.job_error, set_job_error, failed_job (sweep/loop.py, slurm_batch.py)
    error = ValueError("the task's own")
    failed = upstream_private.failed_job(["x=1"], error)
    assert upstream_private.job_error(failed) is error
    with pytest.raises(ValueError, match="the task's own"):
        failed.return_value  # noqa: B018 (what Hydra does with a failed job's return)
    upstream_private.set_job_error(failed, KeyError("replaced"))
    with pytest.raises(KeyError, match="replaced"):
        failed.return_value  # noqa: B018
    finished = JobReturn(overrides=["x=1"], status=JobStatus.COMPLETED, _return_value=3.0)
    assert upstream_private.job_error(finished) is None and finished.return_value == 3.0


def test_submitits_executor_name():
    # upstream_private.launcher_executor (sweep/slurm_batch.py tells the SLURM launcher by it)
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import (
        LocalLauncher,
        SlurmLauncher,
    )

    assert upstream_private.launcher_executor(SlurmLauncher.__new__(SlurmLauncher)) == "slurm"
    assert upstream_private.launcher_executor(LocalLauncher.__new__(LocalLauncher)) == "local"
    assert upstream_private.launcher_executor(object()) is None


def test_omegaconfs_nodes():
    # upstream_private.child_node, raw_value (sweep/command_macros.py, searchspace/validation.py)
    config = OmegaConf.create({"command": ["${program}"], "a": {"b": 1}, "program": "p"})
    assert isinstance(config, DictConfig) and isinstance(config.command, ListConfig)
    assert isinstance(upstream_private.child_node(config, "command"), ListConfig)
    assert upstream_private.raw_value(config.command, 0) == "${program}"
    assert isinstance(upstream_private.child_node(config.a, "b"), ValueNode)
    assert upstream_private.raw_value(config.a, "b") == 1
    assert upstream_private.child_node(config.a, "missing") is None


def test_wandbs_request_handle_the_cloud_agent_sends_through():
    # upstream_private.wandb_execute_graphql (engine/cloud/graphql.py): wandb-core's GraphQL
    # handle of wandb.Api() where the release has one, else the public API's own client
    import wandb

    source = inspect.getsource(wandb.Api.__init__)
    if "_service_api" in source:
        from wandb.apis.public.service_api import ServiceApi
        from wandb.sdk.lib.service.service_connection import WandbApiFailedError

        assert {"query", "variables", "timeout"} <= set(parameters(ServiceApi.execute_graphql))
        assert "response" in parameters(WandbApiFailedError.__init__)
    else:
        from wandb_gql import gql  # noqa: F401

        assert isinstance(wandb.Api.client, property)
