"""``hydra.sweeper`` as users set it: dotted keys, pasted W&B files, other sweepers' keys,
and the sweeper as a drop-in for Hydra's basic sweeper."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.sweeper_helpers import (
    results,
    run_sweep,
    sweep_command,
    sweep_env,
    trial_records,
)


def error_lines(completed: subprocess.CompletedProcess[str]) -> list[str]:
    """What the user reads of an error: the lines besides Hydra's HYDRA_FULL_ERROR hint."""
    return [
        line
        for line in completed.stderr.splitlines()
        if line.strip() and "HYDRA_FULL_ERROR" not in line
    ]


def assert_refused_before_any_trial(
    tmp_path, completed: subprocess.CompletedProcess[str], *fragments: str
) -> None:
    assert completed.returncode != 0
    lines = error_lines(completed)
    assert 1 <= len(lines) <= 2, completed.stderr
    for fragment in fragments:
        assert fragment in completed.stderr, f"{fragment!r} not in:\n{completed.stderr}"
    assert not list((tmp_path / "multirun").glob("*/.hydra")), "a trial started"


# --- settings through Hydra's dotted keys --------------------------------------------------


def test_every_metric_and_early_terminate_field_is_a_dotted_key(tmp_path):
    run_sweep(
        tmp_path,
        "x=interval(-2,2)",
        "hydra.sweeper.method=bayes",
        "hydra.sweeper.count=2",
        "hydra.sweeper.metric.name=loss",
        "hydra.sweeper.metric.goal=minimize",
        "hydra.sweeper.metric.target=-1",
        "hydra.sweeper.metric.impute=worst",
        "hydra.sweeper.metric.impute_while_running=false",
        "hydra.sweeper.early_terminate.type=hyperband",
        "hydra.sweeper.early_terminate.min_iter=1",
        "hydra.sweeper.early_terminate.eta=1.5",  # any number > 1, as W&B takes
        "hydra.sweeper.early_terminate.strict=true",
    )
    summary = results(tmp_path)
    assert summary["metric"]["name"] == "loss" and summary["metric"]["goal"] == "minimize"
    assert summary["trials"]["finished"] == 2


def test_wandbs_impute_settings_are_said_to_do_nothing_on_the_local_engine(tmp_path):
    completed = run_sweep(
        tmp_path,
        "x=0,1",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,impute:worst}",
    )
    output = completed.stdout + completed.stderr
    assert output.count("hydra.sweeper.metric.impute: W&B's server reads it") == 1
    assert results(tmp_path)["trials"]["finished"] == 2


def test_cfg_hydra_shows_the_typed_fields(tmp_path):
    command = [
        *sweep_command(tmp_path, "hydra.sweeper.metric.name=loss"),
        "--cfg",
        "hydra",
        "--package",
        "hydra.sweeper",
    ]
    command.remove("-m")
    shown = subprocess.run(
        command, cwd=tmp_path, env=sweep_env(tmp_path), capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    sweeper = yaml.safe_load(shown.stdout)  # the node alone, under "# @package hydra.sweeper"
    assert sweeper["metric"] == {
        "name": "loss",
        "goal": None,
        "target": None,
        "impute": None,
        "impute_while_running": None,
    }
    assert set(sweeper["early_terminate"]) == {"type", "min_iter", "max_iter", "s", "eta", "strict"}


def test_early_terminate_is_off_by_default_and_takes_a_pasted_dict(tmp_path):
    run_sweep(tmp_path, "x=0,1")
    assert results(tmp_path)["trials"]["stopped"] == 0
    run_sweep(tmp_path, "x=0,1", "hydra.sweeper.early_terminate=null", sweep_dir="null")
    assert results(tmp_path, "null")["trials"]["finished"] == 2
    run_sweep(
        tmp_path,
        "x=0,1",
        "hydra.sweeper.early_terminate={type:hyperband,min_iter:1,eta:2}",
        "hydra.sweeper.metric={name:loss}",
        "hydra.sweeper.method=grid",
        sweep_dir="pasted",
    )
    assert results(tmp_path, "pasted")["trials"]["finished"] == 2


def test_a_bad_dotted_value_names_the_key(tmp_path):
    completed = run_sweep(
        tmp_path,
        "x=0,1",
        "hydra.sweeper.metric.name=loss",
        "hydra.sweeper.metric.goal=maximise",
        check=False,
    )
    assert_refused_before_any_trial(
        tmp_path, completed, "hydra.sweeper.metric.goal", "maximise", "maximize"
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("hydra.sweeper.count=1.5", "expected a positive integer"),
        ("hydra.sweeper.seed=abc", "expected an integer"),
        ("hydra.sweeper.metric=5", "expected a mapping"),
        ("hydra.sweeper.publish=maybe", "expected true or false"),
        ("hydra.sweeper.early_terminate.min_iter=a", "min_iter"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_in_one_line(tmp_path, override, expected):
    # the node is untyped, so that our check answers rather than OmegaConf's merge error
    extra = ["hydra.sweeper.early_terminate.type=hyperband"] if "min_iter" in override else []
    completed = run_sweep(tmp_path, "x=0,1", *extra, override, check=False)
    print(completed.stderr)
    key, value = override.split("=")
    assert_refused_before_any_trial(tmp_path, completed, key, value, expected)


def test_an_interpolation_that_does_not_resolve_names_its_key(tmp_path, monkeypatch):
    monkeypatch.delenv("HWS_TEST_UNSET", raising=False)
    completed = run_sweep(
        tmp_path,
        "+hydra.sweeper.parameters.x={values:[1,${oc.env:HWS_TEST_UNSET}]}",
        check=False,
    )
    print(completed.stderr)
    assert completed.returncode == 1
    assert_refused_before_any_trial(
        tmp_path, completed, "hydra.sweeper.parameters.x.values[1]", "HWS_TEST_UNSET"
    )
    assert "Traceback" not in completed.stderr


# --- pasted W&B sweep files --------------------------------------------------------------


PASTED = """\
# @package _global_
defaults:
  - override /hydra/sweeper: wandb
hydra:
  sweeper:
    program: train.py
    method: grid
    metric:
      name: loss
      goal: minimize
    parameters:
      x:
        values: [1, 2]
    early_terminate:
      type: hyperband
      min_iter: 1
    command:
      - ${env}
      - python
      - ${program}
      - ${args_no_hyphens}
      - \\${args}
"""


def test_a_pasted_wandb_file_with_program_and_command_runs(tmp_path):
    (tmp_path / "extra" / "sweep").mkdir(parents=True)
    (tmp_path / "extra" / "sweep" / "pasted.yaml").write_text(PASTED)
    completed = run_sweep(
        tmp_path, f"hydra.searchpath=[file://{tmp_path / 'extra'}]", "+sweep=pasted"
    )
    output = completed.stdout + completed.stderr
    assert "describe what W&B's CLI agent runs" in output
    assert output.count("W&B's CLI agent") == 1
    assert results(tmp_path)["trials"]["finished"] == 2


# --- keys that are not ours ------------------------------------------------------------------

UNKNOWN_KEYS = {
    "hydra.sweeper.run_caps=3": ["hydra.sweeper.run_caps", "Did you mean 'run_cap'?"],
    "+hydra.sweeper.n_trials=20": ["hydra.sweeper.n_trials", "count", "run_cap"],
    "+hydra.sweeper.direction=[minimize,maximize]": ["hydra.sweeper.direction", "one metric"],
    "+hydra.sweeper.tags=[a]": ["hydra.sweeper.tags", "no tags", "wandb.init(tags=...)"],
    "+hydra.sweeper.notes=n": ["hydra.sweeper.notes", "description"],
    "+hydra.sweeper.custom_search_space=m.f": ["hydra.sweeper.custom_search_space", "when:"],
    "+hydra.sweeper.direction=minimize": ["hydra.sweeper.direction", "metric.goal"],
    "+hydra.sweeper.study_name=s": ["hydra.sweeper.study_name", "name", "sweep_id"],
    "+hydra.sweeper.sampler={seed:1}": ["hydra.sweeper.sampler", "method", "bayes_sampler"],
    "+hydra.sweeper.wandb_sweep_config={method:grid}": [
        "hydra.sweeper.wandb_sweep_config",
        "directly under hydra.sweeper",
    ],
    "+hydra.sweeper.num_agents=4": ["hydra.sweeper.num_agents", "Use agents"],
    "+hydra.sweeper.budget=10": ["hydra.sweeper.budget", "run_cap"],
    "hydra.sweeper.metric.nmae=loss": ["hydra.sweeper.metric.nmae", "Did you mean 'name'?"],
    "hydra.sweeper.early_terminate.min_iters=2": [
        "hydra.sweeper.early_terminate.min_iters",
        "min_iter",
    ],
}


@pytest.mark.parametrize("line", list(UNKNOWN_KEYS))
def test_unknown_settings_name_ours(tmp_path, line):
    completed = run_sweep(tmp_path, "x=0,1", line, check=False)
    assert_refused_before_any_trial(tmp_path, completed, *UNKNOWN_KEYS[line])


# A config written for Hydra's Optuna sweeper, as its documentation shows one
FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"
OPTUNA_SHAPED = """\
# @package _global_
defaults:
  - override /hydra/sweeper: wandb
hydra:
  sweeper:
    direction: minimize
    study_name: quadratic
    n_trials: 20
    n_jobs: 1
    sampler:
      seed: 123
    params:
      x: range(-2, 2, step=0.5)
"""


def test_every_foreign_key_of_a_config_is_named_in_one_run(tmp_path):
    (tmp_path / "extra" / "sweep").mkdir(parents=True)
    (tmp_path / "extra" / "sweep" / "optuna.yaml").write_text(OPTUNA_SHAPED)
    completed = run_sweep(
        tmp_path, f"hydra.searchpath=[file://{tmp_path / 'extra'}]", "+sweep=optuna", check=False
    )
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert "4 unknown settings" in completed.stderr
    lines = [line.strip() for line in error_lines(completed)]
    for key, hint in [
        ("direction", "metric.goal"),
        ("study_name", "name"),
        ("n_trials", "count"),
        ("sampler", "bayes_sampler"),
    ]:
        assert any(line.startswith(f"hydra.sweeper.{key}: ") and hint in line for line in lines)
    assert len(lines) == 6  # the count, one line per key, the translate command
    assert lines[-1].startswith("`hydra-wandb-sweeper translate FILE` rewrites")
    assert not list((tmp_path / "multirun").glob("*/.hydra")), "a trial started"


def test_another_sweepers_target_is_answered_by_the_settings_check(tmp_path):
    # lightning-hydra-template's hparams_search file, run with hydra/sweeper=wandb: its
    # _target_ names Optuna's class, which Hydra alone answers with a traceback
    (tmp_path / "extra" / "hparams_search").mkdir(parents=True)
    shutil.copy(
        FOREIGN / "optuna_hparams_search.yaml",
        tmp_path / "extra" / "hparams_search" / "optuna.yaml",
    )
    completed = run_sweep(
        tmp_path,
        f"hydra.searchpath=[file://{tmp_path / 'extra'}]",
        "+hparams_search=optuna",
        check=False,
    )
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    output = completed.stdout + completed.stderr
    assert "hydra.sweeper._target_ is 'hydra_plugins.hydra_optuna_sweeper" in output
    assert "4 unknown settings" in completed.stderr
    assert "hydra-wandb-sweeper translate FILE" in completed.stderr
    assert not list((tmp_path / "multirun").glob("*/.hydra")), "a trial started"


# --- a drop-in for Hydra's basic sweeper ------------------------------------------------------

BASIC_PARAMS = """\
# @package _global_
defaults:
  - override /hydra/sweeper: wandb
hydra:
  sweeper:
    params:
      x: 0,1
      shape: flat,bowl
"""


def test_the_basic_sweepers_params_key_is_its_search_space(tmp_path):
    (tmp_path / "extra" / "sweep").mkdir(parents=True)
    (tmp_path / "extra" / "sweep" / "basic.yaml").write_text(BASIC_PARAMS)
    run_sweep(tmp_path, f"hydra.searchpath=[file://{tmp_path / 'extra'}]", "+sweep=basic")
    points = sorted(
        (job["config"]["x"], job["config"]["shape"]["offset"]) for job in trial_records(tmp_path)
    )
    assert points == [(0, 0.0), (0, 1.0), (1, 0.0), (1, 1.0)]


def test_no_sweep_at_all_runs_one_job(tmp_path):
    run_sweep(tmp_path)
    run_sweep(tmp_path, "x=0.5", "shape=bowl", sweep_dir="plain")
    (job,) = trial_records(tmp_path, "plain")
    assert job["config"]["x"] == 0.5 and job["config"]["shape"]["offset"] == 1.0
    assert len(trial_records(tmp_path)) == 1
    assert results(tmp_path)["method"] == "grid"
    run_sweep(tmp_path, "hydra.sweeper.metric.name=loss", sweep_dir="with_metric")
    assert results(tmp_path, "with_metric")["best_value"] == 5.0  # (0 - 1)² + (0 + 2)²


def test_discrete_sweep_without_a_method_is_a_grid(tmp_path):
    completed = run_sweep(tmp_path, "x=0,1", "shape=flat,bowl")
    assert "method is not set: grid" in completed.stdout + completed.stderr
    points = sorted(
        (job["config"]["x"], job["config"]["shape"]["offset"]) for job in trial_records(tmp_path)
    )
    assert points == [(0, 0.0), (0, 1.0), (1, 0.0), (1, 1.0)]


def test_continuous_sweep_without_a_method_explains_random(tmp_path):
    completed = run_sweep(tmp_path, "x=interval(0,1)", check=False)
    assert_refused_before_any_trial(
        tmp_path, completed, "method random", "is not set", "hydra.sweeper.count"
    )


def test_glob_sweeps_a_config_groups_options(tmp_path):
    run_sweep(tmp_path, "shape=glob(*)")
    offsets = sorted(job["config"]["shape"]["offset"] for job in trial_records(tmp_path))
    assert offsets == [0.0, 0.5, 1.0]  # flat, ring, bowl
    run_sweep(tmp_path, "shape=glob(*,exclude=[flat,ring])", sweep_dir="some")
    assert [job["overrides"] for job in trial_records(tmp_path, "some")] == [["shape=bowl"]]
    run_sweep(tmp_path, "hydra.sweeper.parameters.shape='glob(b*)'", sweep_dir="configured")
    assert [job["overrides"] for job in trial_records(tmp_path, "configured")] == [["shape=bowl"]]


# --- typos ---------------------------------------------------------------------------------

SWEPT = ["x=0,1", "y=0,1", "label=a,b", "shape=flat,bowl", "sleep=0,0.01"]


@pytest.mark.parametrize("swept", [1, 2, 5])
def test_a_key_typo_is_one_clear_error_whatever_the_number_of_swept_keys(tmp_path, swept):
    overrides = [*SWEPT[: swept - 1], "lable=a,b"]
    completed = run_sweep(tmp_path, *overrides, check=False)
    assert_refused_before_any_trial(tmp_path, completed, "lable", "+lable")
    assert "Traceback" not in completed.stderr
