"""A conditional sweep end to end: Hydra gets only the overrides that apply to a trial."""

from __future__ import annotations

from tests.support.sweeper_helpers import results, run_sweep, trial_records

METRIC = "hydra.sweeper.metric={name:loss,goal:minimize}"


def test_a_command_line_sweep_over_options_with_their_own_keys(tmp_path):
    completed = run_sweep(
        tmp_path,
        "shape=flat,ring",
        "shape.radius=1.0,2.0,3.0",
        "x=0,1",
        "hydra.sweeper.method=grid",
    )
    assert "shape.radius applies only when shape is ring" in completed.stderr + completed.stdout
    jobs = trial_records(tmp_path)
    # flat: 2 values of x; ring: 3 radii x 2 values of x. Never a radius with flat.
    assert len(jobs) == 2 + 6
    for job in jobs:
        radius = [line for line in job["overrides"] if line.startswith("shape.radius=")]
        assert bool(radius) == ("shape=ring" in job["overrides"])
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 8


def test_a_bayes_sweep_with_when_in_the_config(tmp_path):
    parameters = (
        "hydra.sweeper.parameters={shape:{values:[flat,ring]},"
        "x:{min:-2.0,max:2.0},"
        "shape.radius:{min:0.5,max:3.0,when:{shape:ring}}}"
    )
    run_sweep(
        tmp_path,
        parameters,
        METRIC,
        "hydra.sweeper.method=bayes",
        "hydra.sweeper.count=6",
        "hydra.sweeper.bayes_startup_trials=3",
        "hydra.sweeper.seed=0",
    )
    for job in trial_records(tmp_path):
        ring = "shape=ring" in job["overrides"]
        assert any(line.startswith("shape.radius=") for line in job["overrides"]) == ring
        assert ("radius" in job["config"]["shape"]) == ring
    summary = results(tmp_path)
    assert summary["trials"]["finished"] == 6
    assert ("shape.radius" in summary["best_params"]) == (summary["best_params"]["shape"] == "ring")
