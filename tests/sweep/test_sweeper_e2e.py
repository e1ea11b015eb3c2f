"""The sweeper end to end: real Hydra launchers, real Optuna storage, real W&B client (offline)."""

from __future__ import annotations

import itertools

import pytest

from tests.support.sweeper_helpers import results, run_sweep, trial_records

METRIC = "hydra.sweeper.metric={name:loss,goal:minimize}"


def test_random_sweep_runs_count_trials_each_a_hydra_job(tmp_path):
    run_sweep(tmp_path, "x=interval(-2,2)", "shape=flat,bowl", "hydra.sweeper.count=5", METRIC)
    summary = results(tmp_path)
    assert summary["method"] == "random"
    assert summary["trials"] == {"total": 5, "running": 0, "finished": 5, "failed": 0, "stopped": 0}
    jobs = trial_records(tmp_path)
    assert [job["dir"].name for job in jobs] == ["0", "1", "2", "3", "4"]
    for job in jobs:
        config = job["config"]
        assert -2 <= config["x"] < 2
        # the group was swapped by Hydra, not merged into a dict
        assert config["shape"]["offset"] == (1.0 if "shape=bowl" in job["overrides"] else 0.0)
        assert job["env"]["WANDB_RUN_GROUP"] == f"sweep-{summary['sweep_id']}"
    best = min(
        jobs, key=lambda job: (job["config"]["x"] - 1) ** 2 + job["config"]["shape"]["offset"]
    )
    assert summary["best_params"]["x"] == best["config"]["x"]
    # exactly what Hydra applied to the best trial's job, as .hydra/overrides.yaml has it
    # the job's overrides, and the sweeper chosen on the command line: a re-run composes
    assert summary["best_overrides"] == ["hydra/sweeper=wandb", *best["overrides"]]
    # one run (hydra.mode=RUN, whatever the config says), the sweeper's choice, the trial's values
    assert summary["rerun_best"].endswith(
        " ".join(["hydra/sweeper=wandb", "hydra.mode=RUN", *best["overrides"]])
    )


def test_grid_sweep_ends_when_every_point_ran_once(tmp_path):
    run_sweep(tmp_path, "x=choice(0,1,2)", "shape=flat,bowl", "hydra.sweeper.method=grid")
    jobs = trial_records(tmp_path)
    points = sorted((job["config"]["x"], job["config"]["shape"]["offset"]) for job in jobs)
    assert points == sorted(itertools.product([0, 1, 2], [0.0, 1.0]))
    assert results(tmp_path)["trials"]["finished"] == 6


def test_bayes_sweep_reaches_the_optimum_region(tmp_path):
    run_sweep(
        tmp_path,
        "x=interval(-4,4)",
        "y=interval(-4,4)",
        "hydra.sweeper.method=bayes",
        "hydra.sweeper.count=16",
        "hydra.sweeper.seed=0",
        METRIC,
    )
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 16
    assert summary["best_value"] < 1.0


def test_each_trial_is_its_own_wandb_sweep_run_in_process(tmp_path):
    """Serial jobs in one process each join their own run, with their own sweep values."""
    run_sweep(tmp_path, "x=interval(-2,2)", "hydra.sweeper.count=3", "use_wandb=true", METRIC)
    summary = results(tmp_path)
    run_ids = set()
    for job in trial_records(tmp_path):
        assert job["wandb"]["group"] == f"sweep-{summary['sweep_id']}"
        assert job["wandb"]["id"] == job["env"]["WANDB_RUN_ID"]
        assert job["wandb"]["config"]["x"] == job["config"]["x"]
        assert len(list(job["dir"].glob("wandb/offline-run-*"))) == 1
        run_ids.add(job["wandb"]["id"])
    assert len(run_ids) == 3


@pytest.mark.slow
def test_joblib_launcher_runs_trials_in_parallel_workers(tmp_path):
    run_sweep(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "x=choice(0,1,2,3)",
        "hydra.sweeper.method=grid",
        "use_wandb=true",
        "sleep=0.5",
    )
    jobs = trial_records(tmp_path)
    assert sorted(job["config"]["x"] for job in jobs) == [0, 1, 2, 3]
    assert len({job["pid"] for job in jobs}) >= 2
    # a reused worker process still binds each job to its own run
    assert all(job["wandb"]["id"] == job["env"]["WANDB_RUN_ID"] for job in jobs)
    assert all(job["wandb"]["config"]["x"] == job["config"]["x"] for job in jobs)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["random", "bayes"])
def test_joblib_launcher_runs_random_and_bayes_batches(tmp_path, method):
    run_sweep(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "x=interval(-2,2)",
        "shape=flat,bowl",
        f"hydra.sweeper.method={method}",
        "hydra.sweeper.count=4",
        "hydra.sweeper.seed=0",
        METRIC,
    )
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 4
    jobs = trial_records(tmp_path)
    assert sorted(job["dir"].name for job in jobs) == ["0", "1", "2", "3"]
    assert len({job["config"]["x"] for job in jobs}) == 4


@pytest.mark.slow
def test_submitit_local_launcher(tmp_path):
    run_sweep(
        tmp_path,
        "hydra/launcher=submitit_local",
        "x=choice(0,2)",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.n_jobs=2",
        "use_wandb=true",
        timeout=400,
    )
    assert results(tmp_path)["trials"]["finished"] == 2
    # the environment travels with the task to submitit's job processes
    jobs = trial_records(tmp_path)
    assert all(job["wandb"]["id"] == job["env"]["WANDB_RUN_ID"] for job in jobs)
    assert all(job["wandb"]["config"]["x"] == job["config"]["x"] for job in jobs)


def test_failed_trial_stops_the_sweep_and_is_listed(tmp_path):
    completed = run_sweep(
        tmp_path, "x=choice(0,3,1)", "hydra.sweeper.method=grid", "fail_above=2", check=False
    )
    assert completed.returncode != 0
    assert "x=3" in completed.stderr and "above fail_above" in completed.stderr
    summary = results(tmp_path)
    # the finished trial before the failure is kept; the sweep stopped after the failure
    assert summary["trials"]["finished"] == 1
    assert summary["trials"]["failed"] == 1


def test_failure_budget_tolerates_some_failures(tmp_path):
    run_sweep(
        tmp_path,
        "x=choice(0,3,1,0.5)",
        "hydra.sweeper.method=grid",
        "fail_above=2",
        "hydra.sweeper.max_failure_rate=0.5",
    )
    assert results(tmp_path)["trials"]["failed"] == 1
    assert results(tmp_path)["trials"]["finished"] == 3


def test_metric_target_ends_the_sweep(tmp_path):
    run_sweep(
        tmp_path,
        "x=choice(1,5,6,7)",
        "y=-2",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:minimize,target:0.5}",
    )
    assert results(tmp_path)["trials"]["total"] == 1


@pytest.mark.parametrize(
    "sweep", [("x=interval(0,1)",), ("x=range(0,6)", "hydra.sweeper.method=grid")], ids=str
)
def test_run_cap_bounds_the_sweep(tmp_path, sweep):
    run_sweep(tmp_path, *sweep, "hydra.sweeper.run_cap=3")
    assert results(tmp_path)["trials"]["total"] == 3


def test_plain_command_line_value_fixes_a_configured_parameter(tmp_path):
    run_sweep(
        tmp_path,
        "+hydra.sweeper.parameters.x={values:[5,6]}",
        "+hydra.sweeper.parameters.y='interval(0,1)'",
        "x=0.25",
        "hydra.sweeper.count=2",
    )
    jobs = trial_records(tmp_path)
    assert [job["config"]["x"] for job in jobs] == [0.25, 0.25]
    assert all(0 <= job["config"]["y"] < 1 for job in jobs)


def test_awkward_string_values_reach_the_job_unchanged(tmp_path):
    labels = ["008", "a b", "x=y", "it's", "1e-3", "null", "[1]"]
    run_sweep(
        tmp_path,
        "hydra.sweeper.method=grid",
        "+hydra.sweeper.parameters.label={values:" + _yaml_flow(labels) + "}",
    )
    assert sorted(job["config"]["label"] for job in trial_records(tmp_path)) == sorted(labels)


def _yaml_flow(values: list[str]) -> str:
    quoted = ["'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" for value in values]
    return "[" + ",".join(quoted) + "]"


@pytest.mark.slow
def test_a_killed_worker_fails_its_trial_and_keeps_the_others_results(tmp_path):
    completed = run_sweep(
        tmp_path,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "x=choice(0,1)",
        "hydra.sweeper.method=grid",
        "crash_above=0.5",
        check=False,
    )
    assert completed.returncode != 0
    assert "worker process died (exit code SIGKILL" in completed.stderr
    assert "Traceback" not in completed.stderr
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 1  # x=0 had finished: its result is kept
    assert summary["trials"]["failed"] == 1
