"""The local engine's hyperband and grid against W&B's own scheduler, the ``sweeps`` package.

W&B's code is the oracle (run in its own virtual environment, see
``tests/support/sweeps_venv.py``): on generated learning curves, run one at a time, every
decision of our pruner is the one ``sweeps.stop_runs`` makes; our grid values and our
refusals are those of W&B's scheduler. ``bench/hyperband_agreement.py`` counts the stops
over more curves, and with trials run side by side, where the two may differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hydra_wandb_sweeper.errors import SweepConfigError
from hydra_wandb_sweeper.searchspace.distributions import grid_values, spec_from_wandb_dict
from hydra_wandb_sweeper.searchspace.method import validate_method
from tests.support.hyperband_oracle import (
    LocalRule,
    generated_curves,
    local_one_at_a_time,
    sweep_config,
    wandb_one_at_a_time,
)
from tests.support.space_cases import space
from tests.support.sweeps_venv import SweepsError, SweepsProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweeps() -> Iterator[SweepsProcess]:
    with SweepsProcess(seed=0) as process:
        yield process


RULES = [
    ({"type": "hyperband", "min_iter": 1, "eta": 2}, "maximize"),
    ({"type": "hyperband", "min_iter": 2, "eta": 3, "strict": False}, "minimize"),
    ({"type": "hyperband", "min_iter": 1, "eta": 2, "strict": False}, "maximize"),
    ({"type": "hyperband", "max_iter": 12, "s": 2, "eta": 2}, "minimize"),
    ({"type": "hyperband", "max_iter": 27, "s": 3, "eta": 3, "strict": True}, "maximize"),
    ({"type": "hyperband", "min_iter": 1, "eta": 1.5}, "maximize"),  # a float eta, as W&B takes
    ({"type": "hyperband", "min_iter": 3}, "minimize"),  # eta 3 and strict by default
]


@pytest.mark.parametrize(("early_terminate", "goal"), RULES)
def test_one_at_a_time_every_decision_is_wandbs(
    sweeps: SweepsProcess, early_terminate: dict[str, Any], goal: str
) -> None:
    stopped = 0
    for seed in range(3):
        curves = generated_curves(seed, runs=12, epochs=12)
        ours = local_one_at_a_time(early_terminate, goal, curves)
        # per run: after how many reports it was stopped (None: it ran to the end)
        assert ours == wandb_one_at_a_time(sweeps, early_terminate, goal, curves), seed
        stopped += sum(step is not None for step in ours)
    assert 0 < stopped < 36, "the curves exercise both outcomes"


def test_strict_changes_the_decisions(sweeps: SweepsProcess) -> None:
    """The curves are noisy enough that strict (value at the band) and not strict (best so
    far) disagree somewhere, so the cases above tell the two apart."""
    rule = {"type": "hyperband", "min_iter": 1, "eta": 2}
    curves = generated_curves(0, runs=12, epochs=12)
    strict = local_one_at_a_time({**rule, "strict": True}, "maximize", curves)
    loose = local_one_at_a_time({**rule, "strict": False}, "maximize", curves)
    assert strict != loose


def test_a_run_w_and_b_stops_between_its_reports_is_stopped_at_its_next(
    sweeps: SweepsProcess,
) -> None:
    """Side by side: run a passed band 1 alone; then b and c reach band 1 ahead of it, and
    W&B's next heartbeat stops a there, before its second report. Its second report opens
    band 2, where it is alone and best; the local engine still stops it, judging it as it
    stood before that report."""
    rule = {"type": "hyperband", "min_iter": 1, "eta": 2}
    config = sweep_config(rule, "maximize")

    def run(name: str, values: list[float]) -> dict[str, Any]:
        history = [{"score": value, "_step": step} for step, value in enumerate(values)]
        return {"name": name, "state": "running", "history": history}

    ours = LocalRule(rule, "maximize")
    a = ours.start()
    assert not ours.report(a, 0.5, 1)
    assert sweeps.stop_runs(config, [run("a", [0.5])]) == []
    for value in (0.9, 0.8):
        assert not ours.report(ours.start(), value, 1)
    heartbeat = [run("a", [0.5]), run("b", [0.9]), run("c", [0.8])]
    assert sweeps.stop_runs(config, heartbeat) == ["a"]
    assert ours.report(a, 0.95, 2)


@pytest.mark.parametrize(
    "raw",
    [
        {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25},
        {"distribution": "q_uniform", "min": 0.05, "max": 0.35, "q": 0.1},
        {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.1},
        {"distribution": "q_uniform", "min": 0, "max": 10, "q": 5},
        {"distribution": "q_uniform", "min": -1.5, "max": 1, "q": 1},
        {"distribution": "q_uniform", "min": 1, "max": 3},
        {"distribution": "int_uniform", "min": -2, "max": 2},
    ],
)
def test_grid_values_are_wandbs(sweeps: SweepsProcess, raw: dict[str, Any]) -> None:
    config = {"method": "grid", "parameters": {"x": raw}}
    wandb_values: list[Any] = []
    runs: list[dict[str, Any]] = []
    while (run := sweeps.next_run(config, runs)) is not None:
        wandb_values.append(run["x"]["value"])
        runs.append({"name": f"run{len(runs)}", "state": "finished", "config": run})
    ours = grid_values(spec_from_wandb_dict(raw, "x"), "x")
    assert ours == wandb_values
    assert [type(value) for value in ours] == [type(value) for value in wandb_values]


def test_grid_with_probabilities_is_refused_by_both(sweeps: SweepsProcess) -> None:
    raw = {"values": ["a", "b"], "probabilities": [0.9, 0.1]}
    with pytest.raises(SweepsError, match="disallowed"):
        sweeps.next_run({"method": "grid", "parameters": {"x": raw}}, [])
    with pytest.raises(SweepConfigError, match="takes no probabilities"):
        grid_values(spec_from_wandb_dict(raw, "x"), "x")


METRIC = {"name": "score", "goal": "maximize"}
SEARCHED = space({"optimizer.lr": "interval(0.1,1)"})


@pytest.mark.parametrize(
    "early_terminate",
    [
        {"type": "hyperband", "min_iter": 1, "eta": 1.5},
        {"type": "hyperband", "min_iter": 2, "eta": 2.5, "strict": False},
        {"type": "hyperband", "max_iter": 9, "s": 2, "eta": 3},
        {"type": "hyperband", "min_iter": 1, "s": 2},
    ],
)
def test_what_wandb_accepts_is_accepted(
    sweeps: SweepsProcess, early_terminate: dict[str, Any]
) -> None:
    config = sweep_config(early_terminate, "maximize")
    assert sweeps.violations(config) == []
    assert sweeps.stop_runs(config, []) == []  # its scheduler runs it
    validate_method(SEARCHED, "random", METRIC, early_terminate)


@pytest.mark.parametrize(
    ("early_terminate", "fragment"),
    [
        ({"type": "hyperband", "max_iter": 2, "s": 1, "eta": 3}, "no band"),
        ({"type": "hyperband", "min_iter": 1, "max_iter": 9}, "max_iter and s"),
        ({"type": "hyperband", "min_iter": 1, "eta": 1}, "number > 1"),
    ],
)
def test_what_wandbs_scheduler_refuses_is_refused(
    sweeps: SweepsProcess, early_terminate: dict[str, Any], fragment: str
) -> None:
    config = sweep_config(early_terminate, "maximize")
    refused_by_schema = bool(sweeps.violations(config))
    try:
        sweeps.stop_runs(config, [])
        refused_when_run = False
    except SweepsError:
        refused_when_run = True
    assert refused_by_schema or refused_when_run
    with pytest.raises(SweepConfigError, match=fragment):
        validate_method(SEARCHED, "random", METRIC, early_terminate)
