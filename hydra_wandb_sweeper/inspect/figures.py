"""The report's plots, from the neutral table: Optuna's visualizations (on an in-memory study
that holds the W&B values under the W&B names, never the sampler's internal numbers) and
a learning-curve plot that marks where early termination stopped each trial."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import optuna
import plotly.graph_objects as go
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from hydra_wandb_sweeper.engine.table import Column, SweepTable
from hydra_wandb_sweeper.searchspace.method import hyperband_bands

TEMPLATE = "plotly_white"
_STATES = {"finished": OptunaState.COMPLETE, "stopped": OptunaState.COMPLETE}
_COLORS = {"finished": "#4c78a8", "stopped": "#e45756", "best": "#2ca02c", "bracket": "#999999"}
_PRIMITIVE = (str, int, float, bool)
# W&B distributions whose min and max are values (log_uniform's are exponents)
_VALUE_BOUNDS = (
    "uniform",
    "int_uniform",
    "q_uniform",
    "log_uniform_values",
    "q_log_uniform_values",
    "inv_log_uniform_values",
)


def memory_study(table: SweepTable) -> optuna.Study:
    """The sweep as an in-memory Optuna study: W&B names, real values, curves; trial numbers
    are the sweep's own as long as every trial is there (running and failed ones too)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if table.goal == "maximize" else "minimize")
    distributions = {
        column.wandb_name: distribution
        for column in table.columns
        if (distribution := _distribution(column, table)) is not None
    }
    keys = {c.wandb_name: c.key for c in table.columns}
    for trial in sorted(table.trials, key=lambda t: t.number):
        params = {
            name: _stored(trial.params.get(keys[name]), dist)
            for name, dist in distributions.items()
            if trial.params.get(keys[name]) is not None
        }
        state = _STATES.get(trial.state, OptunaState.FAIL)
        if trial.state == "running":
            state = OptunaState.RUNNING
        scored = state is OptunaState.COMPLETE and trial.value is not None
        study.add_trial(
            optuna.trial.create_trial(
                state=state if scored or state is not OptunaState.COMPLETE else OptunaState.FAIL,
                value=trial.value if scored else None,
                params=params,
                distributions={name: distributions[name] for name in params},
                intermediate_values={int(k): float(v) for k, v in trial.curve.items()},
                user_attrs={"run_id": trial.run_id, "state": trial.state},
            )
        )
    return study


def _distribution(column: Column, table: SweepTable) -> BaseDistribution | None:
    """An Optuna distribution over the values the trials took (None: nothing to plot)."""
    observed = [t.params[column.key] for t in table.trials if t.params.get(column.key) is not None]
    if not observed:
        return None
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in observed)
    kind = str(column.spec.get("distribution", ""))
    if not numeric or kind.startswith("categorical") or kind == "constant":
        choices = list(column.spec.get("values") or dict.fromkeys(map(_choice, observed)))
        choices = list(dict.fromkeys(_choice(choice) for choice in choices))
        return CategoricalDistribution(choices) if len(choices) > 1 else None
    low, high = min(observed), max(observed)
    if low == high:
        # one value seen: a parameter that applied in a single trial (a model tried once)
        # keeps its axis over the range it was drawn from; a constant one explains nothing
        bounds = [column.spec.get("min"), column.spec.get("max")]
        numbers = all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
        if kind not in _VALUE_BOUNDS or not numbers:
            return None
        low, high = min(low, *bounds), max(high, *bounds)
        if low == high:
            return None
    if all(isinstance(v, int) for v in observed) and kind in ("int_uniform", "q_uniform"):
        return IntDistribution(int(low), int(high))
    return FloatDistribution(float(low), float(high), log=column.log_scale and low > 0)


def _choice(value: Any) -> Any:
    # Optuna keeps only primitive choices; lists and dicts are shown as text
    return value if isinstance(value, _PRIMITIVE) or value is None else str(value)


def _stored(value: Any, distribution: BaseDistribution) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return _choice(value)
    if isinstance(distribution, IntDistribution):
        return int(value)
    return float(value)


def optimization_history(study: optuna.Study, table: SweepTable) -> go.Figure:
    figure = optuna.visualization.plot_optimization_history(study, target_name=_metric(table))
    return _styled(figure, f"Optimization history: {_metric(table)} by trial", "trial")


def parallel_coordinates(study: optuna.Study, table: SweepTable) -> go.Figure:
    figure = optuna.visualization.plot_parallel_coordinate(study, target_name=_metric(table))
    _recolor(figure, better_high=table.goal == "maximize")
    return _styled(figure, f"Parallel coordinates: parameters against {_metric(table)}")


def _recolor(figure: go.Figure, *, better_high: bool) -> None:
    """Optuna draws each trial as a line coloured in light blues, which fade weaker trials
    into the page; viridis keeps every line visible, yellow for the better trials. A line's
    first point is its metric, scaled to 0..1."""
    from plotly.colors import sample_colorscale

    for trace in figure.data:
        if trace.type == "parcoords":  # Optuna < 5 draws one Parcoords trace instead
            trace.line.colorscale = "Viridis"
            trace.line.reversescale = not better_high
        elif trace.mode == "lines" and trace.y:
            shade = trace.y[0] if better_high else 1.0 - trace.y[0]
            trace.line.color = sample_colorscale("Viridis", [shade])[0]
            trace.opacity = 0.75
        elif trace.mode == "markers" and trace.marker.colorscale:
            trace.marker.colorscale = "Viridis"
            trace.marker.reversescale = not better_high
    # the axes' tick labels stay readable over the lines
    figure.update_annotations(bgcolor="rgba(255,255,255,0.85)")


def parameter_importances(study: optuna.Study, table: SweepTable) -> go.Figure | None:
    """fANOVA importances (Optuna's default evaluator); None with fewer than 2 scored trials.

    fANOVA needs every parameter in every trial: in a conditional sweep it ranks the
    parameters every trial has, and the title says which ones it leaves out
    (:func:`group_importances` ranks those among the trials they apply to)."""
    scored = study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,))
    if len(scored) < 2 or not study.best_trial.params:
        return None
    title = f"Parameter importance for {_metric(table)} (fANOVA)"
    partial = _partial_parameters(scored)
    if partial:
        shared = sorted(set.intersection(*(set(t.params) for t in scored)))
        if not shared:
            return None
        title += (
            f" over the parameters every trial has; {', '.join(partial)} "
            f"{'applies' if len(partial) == 1 else 'apply'} to some trials only (below)"
        )
    figure = _importance_figure(study, table, None)
    return _styled(figure, title)


def group_importances(study: optuna.Study, table: SweepTable) -> list[go.Figure]:
    """In a conditional sweep, fANOVA importances among the trials that share one set of
    parameters (one model's trials), for each set with enough scored trials."""
    scored = study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,))
    partial = _partial_parameters(scored)
    if not partial:
        return []
    groups: dict[frozenset[str], list[FrozenTrial]] = {}
    for trial in scored:
        groups.setdefault(frozenset(trial.params), []).append(trial)
    found = []
    for names, trials in sorted(groups.items(), key=lambda item: sorted(item[0])):
        own = sorted(name for name in names if name in partial)
        if len(trials) < _MIN_GROUP_TRIALS or not own:
            continue
        group = optuna.create_study(direction=study.direction)
        group.add_trials(trials)
        figure = _importance_figure(group, table, sorted(names))
        found.append(
            _styled(
                figure,
                f"Parameter importance for {_metric(table)} among the {len(trials)} trials "
                f"with {', '.join(own)} (fANOVA)",
            )
        )
    return found


# fewer scored trials than this in a group of a conditional sweep: no importance for it
_MIN_GROUP_TRIALS = 3


def _partial_parameters(trials: Sequence[FrozenTrial]) -> list[str]:
    """Parameters some scored trials have and others not (a conditional sweep's)."""
    names = {name for trial in trials for name in trial.params}
    return sorted(name for name in names if any(name not in t.params for t in trials))


def _importance_figure(
    study: optuna.Study, table: SweepTable, params: list[str] | None
) -> go.Figure:
    logging.getLogger("optuna").setLevel(logging.ERROR)
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    return optuna.visualization.plot_param_importances(
        study, evaluator=evaluator, params=params, target_name=_metric(table)
    )


def learning_curves(table: SweepTable) -> go.Figure | None:
    """The metric at each reported step, one line per trial; an x where a trial was stopped."""
    curved = [t for t in table.trials if t.curve]
    if not curved:
        return None
    best = table.best()
    figure = go.Figure()
    for state in ("finished", "stopped"):
        lines = [t for t in curved if t.state == state and (best is None or t is not best)]
        count = sum(t.state == state for t in curved)
        if lines:
            figure.add_trace(_lines(lines, f"{state} ({count})", _COLORS[state], table))
    stops = [t for t in curved if t.state == "stopped" and t.curve]
    if stops:
        ends = [(t, max(t.curve)) for t in stops]
        figure.add_trace(
            go.Scatter(
                x=[step for _, step in ends],
                y=[t.curve[step] for t, step in ends],
                mode="markers",
                marker={"symbol": "x", "size": 9, "color": _COLORS["stopped"]},
                name="stopped by early termination",
                customdata=[[t.number] for t, _ in ends],
                hovertemplate="trial %{customdata[0]} stopped at step %{x}<extra></extra>",
            )
        )
    if best is not None and best.curve:
        figure.add_trace(_lines([best], f"best: trial {best.number}", _COLORS["best"], table, 3))
    for step in _brackets(table, max(max(t.curve) for t in curved)):
        figure.add_vline(x=step, line={"dash": "dot", "color": _COLORS["bracket"], "width": 1})
    figure.update_layout(xaxis_title="step (reported validation)", yaxis_title=_metric(table))
    title = f"Learning curves: {_metric(table)} per step"
    if _brackets(table, max(max(t.curve) for t in curved)):
        title += " (dotted: hyperband brackets)"
    return _styled(figure, title)


def _lines(
    trials: Sequence[Any], name: str, color: str, table: SweepTable, width: float = 1.2
) -> go.Scatter:
    """Many trials as one trace (None between them): fast to draw for hundreds of trials."""
    xs: list[Any] = []
    ys: list[Any] = []
    numbers: list[Any] = []
    for trial in trials:
        steps = sorted(trial.curve)
        xs += [*steps, None]
        ys += [*(trial.curve[s] for s in steps), None]
        numbers += [*([trial.number] * len(steps)), None]
    opacity = 1.0 if width > 2 else max(0.25, min(0.8, 12 / max(1, len(table.trials)) ** 0.5))
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines+markers" if width > 2 else "lines",
        line={"color": color, "width": width},
        opacity=opacity,
        name=name,
        customdata=[[n] for n in numbers],
        hovertemplate="trial %{customdata[0]}<br>step %{x}: %{y:.4g}<extra></extra>",
        connectgaps=False,
    )


def _brackets(table: SweepTable, last_step: int) -> list[int]:
    """Hyperband's bands (W&B's, as the engines apply them) up to the last reported step."""
    rule = table.early_terminate or {}
    if rule.get("type") != "hyperband":
        return []
    try:
        bands = hyperband_bands(rule)
    except (KeyError, TypeError, ZeroDivisionError):  # a rule W&B took and we would not
        return []
    return sorted({band for band in bands if 1 <= band <= last_step})


def _metric(table: SweepTable) -> str:
    return table.metric or "value"


def _styled(figure: go.Figure, title: str, xaxis: str | None = None) -> go.Figure:
    figure.update_layout(
        template=TEMPLATE,
        title={"text": title, "x": 0.01, "xanchor": "left"},
        font={"size": 13},
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    if xaxis:
        figure.update_xaxes(title_text=xaxis)
    return figure
