"""Each trial is a plain W&B run (offline here): its values locked in ``wandb.config``, its
run id chosen by the engine, grouped and tagged by sweep, in the app's own project, and
bound to no W&B sweep id that the W&B server has never seen."""

from __future__ import annotations

from tests.support.sweeper_helpers import results, run_sweep, trial_records


def test_local_trials_are_plain_runs_grouped_by_sweep_with_locked_values(tmp_path):
    run_sweep(tmp_path, "x=interval(-2,2)", "hydra.sweeper.count=2", "use_wandb=true")
    sweep_id = results(tmp_path)["sweep_id"]
    jobs = trial_records(tmp_path)
    assert len(jobs) == 2
    for job in jobs:
        run = job["wandb"]
        assert "WANDB_SWEEP_ID" not in job["env"]
        assert run["sweep_id"] is None, "a local sweep claims no W&B sweep id"
        assert run["id"] == job["env"]["WANDB_RUN_ID"]  # the engine chose it
        # the app set x=-999 after wandb.init: the trial's value stays, locked
        assert run["config"]["x"] == job["config"]["x"] != -999.0
        assert run["group"] == f"sweep-{sweep_id}"
        assert f"sweep-{sweep_id}" in run["tags"]
        assert run["job_type"] == "sweep"
        # no project named anywhere: W&B's default, not a sweep's
        assert run["project"] == "uncategorized"


def test_the_apps_project_applies_and_the_sweepers_is_the_default(tmp_path):
    run_sweep(
        tmp_path,
        "+hydra.sweeper.parameters.wandb_project={values:[from_the_app,null]}",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.project=from_the_sweeper",
        "use_wandb=true",
    )
    projects = {
        job["config"]["wandb_project"]: job["wandb"]["project"] for job in trial_records(tmp_path)
    }
    assert projects == {"from_the_app": "from_the_app", None: "from_the_sweeper"}


def test_wandb_console_noise_stays_out_of_the_sweep_output(tmp_path):
    completed = run_sweep(
        tmp_path, "x=interval(-2,2)", "hydra.sweeper.count=2", "use_wandb=true", quiet=False
    )
    output = completed.stdout + completed.stderr
    assert "wandb:" not in output, output
    assert "env_set" not in output and "WANDB_" not in output, output
