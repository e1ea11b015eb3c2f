"""The private upstream APIs the sweeper relies on, checked against the installed versions.

Optuna's, Hydra's, submitit's and OmegaConf's undocumented names can change in any release;
each is used in one place (named beside each check) and checked here, so that a release
that moves one fails this file by name, not a sweep later (an override of a method that no
longer exists is never called and fails nothing)."""

from __future__ import annotations

import dataclasses
import inspect

import optuna
import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf

from hydra_wandb_sweeper.engine.local import optuna_private

pytestmark = pytest.mark.oldest


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_optunas_gp_calls_the_fitting_hook_the_bounded_gp_overrides():
    # engine/local/samplers.py BoundedGPSampler (optuna_private.GP_FIT_METHOD)
    hook = getattr(optuna.samplers.GPSampler, optuna_private.GP_FIT_METHOD)
    assert parameters(hook) == [
        "self",
        "study",
        "completed_trials",
        "running_trials",
        "search_space",
    ]
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
    # sweep/commands.py reads the command line with Hydra's own parser
    from hydra._internal.utils import get_args_parser

    assert get_args_parser().parse_known_args(["-m", "x=1"])[0].multirun is True
    # sweep/console.py quiets the basic launcher's logger by its module name
    import hydra._internal.core_plugins.basic_launcher  # noqa: F401

    # sweep/loop.py, sweep/slurm_batch.py read and set a failed job's exception
    from hydra.core.utils import JobReturn

    assert "_return_value" in {field.name for field in dataclasses.fields(JobReturn)}


def test_submitits_executor_name():
    # sweep/slurm_batch.py tells the SLURM launcher by the executor it names
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import (
        LocalLauncher,
        SlurmLauncher,
    )

    assert SlurmLauncher._EXECUTOR == "slurm" and LocalLauncher._EXECUTOR == "local"


def test_omegaconfs_nodes():
    # sweep/command_macros.py, searchspace/validation.py read a value as written
    config = OmegaConf.create({"command": ["${program}"], "a": {"b": 1}})
    assert isinstance(config, DictConfig) and isinstance(config.command, ListConfig)
    assert config._get_node("command")._get_node(0)._value() == "${program}"
    assert config.a._get_node("b")._value() == 1


def test_wandbs_request_handle_the_cloud_agent_sends_through():
    # engine/cloud/graphql.py _send: wandb-core's GraphQL handle of wandb.Api() where the
    # release has one, else the public API's own GraphQL client (wandb 0.19 to 0.25)
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
