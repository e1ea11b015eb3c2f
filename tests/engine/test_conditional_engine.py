"""The embedded engine on a conditional space: each trial draws only what applies to it."""

from __future__ import annotations

import pytest

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.engine import LocalEngine
from tests.support.conditional_spaces import FLAT_POINTS, GRID_POINTS, MODELS, expected_active
from tests.support.engines import space_definition


def _score(params):
    return params["dropout"] + params.get("kernel", 0) / 10 + params.get("slope", 0)


@pytest.mark.parametrize(
    ("method", "bayes"), [("random", ("gp", 5)), ("bayes", ("gp", 3)), ("bayes", ("tpe", 3))]
)
def test_each_trial_samples_only_its_active_parameters(tmp_path, method, bayes):
    definition = space_definition(method, MODELS, metric="loss")
    engine = LocalEngine.create(str(tmp_path / "journal.log"), definition, seed=1, bayes=bayes)
    models = set()
    for _ in range(12):
        trial = engine.ask()
        assert trial is not None
        assert set(trial.params) == expected_active(dict(trial.params))
        assert dict(trial.inactive) == dict.fromkeys(set(MODELS) - set(trial.params))
        models.add(trial.params["model"])
        engine.tell(trial, TrialState.FINISHED, _score(trial.params), None)
    assert len(models) >= 2  # more than one branch was searched
    for record in engine.records():  # what the results show: the active values only
        assert set(record.params) == expected_active(dict(record.params))
    engine.close()


def test_the_gp_sees_inactive_parameters_at_one_fixed_value(tmp_path):
    definition = space_definition("bayes", MODELS, metric="loss")
    engine = LocalEngine.create(str(tmp_path / "journal.log"), definition, seed=2, bayes=("gp", 3))
    for _ in range(6):
        trial = engine.ask()
        assert trial is not None
        engine.tell(trial, TrialState.FINISHED, _score(trial.params), None)
    stored = engine._study.get_trials()
    for frozen in stored:
        params = frozen.user_attrs["params"]
        assert set(frozen.params) == set(MODELS)  # the model's flattened space
        for key in set(MODELS) - set(params):  # placeholders: lowest value, first choice
            assert frozen.params[key] == {"hidden": 32, "kernel": 3, "levels": 2}.get(
                key, {"act": "relu", "slope": 0.01}.get(key)
            )
    engine.close()


def test_a_conditional_grid_runs_each_valid_combination_once(tmp_path):
    engine = LocalEngine.create(str(tmp_path / "journal.log"), space_definition("grid", MODELS))
    assert engine._grid is not None and engine._grid.size == GRID_POINTS < FLAT_POINTS
    seen = []
    while (trial := engine.ask()) is not None:
        assert set(trial.params) == expected_active(dict(trial.params))
        seen.append(tuple(sorted(trial.params.items())))
        engine.tell(trial, TrialState.FINISHED, None, None)
    assert len(seen) == len(set(seen)) == GRID_POINTS
    assert len(engine.records()) == GRID_POINTS
    engine.close()


def test_a_joining_process_keeps_the_conditions(tmp_path):
    storage = str(tmp_path / "journal.log")
    first = LocalEngine.create(storage, space_definition("random", MODELS), seed=3)
    joined = LocalEngine.join(storage, first.sweep_id, seed=3)
    assert joined.definition.conditions == first.definition.conditions
    for _ in range(6):
        trial = joined.ask()
        assert trial is not None
        assert set(trial.params) == expected_active(dict(trial.params))
        joined.tell(trial, TrialState.FINISHED, None, None)
    first.close()
    joined.close()


def test_the_models_sweep_as_a_grid_has_only_its_valid_combinations(repo_root):
    import yaml

    from hydra_wandb_sweeper.engine.base import stored_parameters
    from hydra_wandb_sweeper.engine.local.grid import Grid

    written = yaml.safe_load((repo_root / "conf" / "sweep" / "models.yaml").read_text())
    parameters = written["hydra"]["sweeper"]["parameters"]
    parameters["optimizer.lr"] = {"values": [1e-3, 1e-2]}  # the continuous ones as 2 values
    parameters["model.dropout"] = {"values": [0.1, 0.3]}
    grid = Grid(stored_parameters(space_definition("grid", parameters)))
    # cnn_tcn 2*2*3*3*3 + cnn_bilstm 2*2*3*3*2 + mlp 2*2*3; flattened 3*2*2*3*3*3*3*2*3
    assert grid.size == 108 + 72 + 12 == 192
    flat = 1
    for values in grid.axes.values():
        flat *= len(values)
    assert flat == 5832
    print(f"sweep=models as a grid: {grid.size} valid points, {flat} flattened")
