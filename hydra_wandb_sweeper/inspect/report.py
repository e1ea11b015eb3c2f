"""A sweep's report: one self-contained HTML page (plotly.js inlined: it opens offline, from a
file, with no network) and the same plots as PNG files for papers and READMEs."""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from hydra_wandb_sweeper.engine.table import SweepTable, TrialRow
from hydra_wandb_sweeper.inspect import figures
from hydra_wandb_sweeper.sweep.commands import rerun_command

log = logging.getLogger(__name__)
# kaleido's browser driver logs a traceback for a browser message it could not decode and then
# goes on ("JSONError ... Ignoring"): the PNGs are written all the same, and a real failure
# reaches write_report as an exception, so its log only adds noise to a report that worked.
logging.getLogger("choreographer").setLevel(logging.CRITICAL)
NO_BROWSER = (
    "no Chrome or Chromium browser was found to draw them (install one, e.g. Debian's "
    "chromium, or point BROWSER_PATH at it; --no-png skips the PNGs)"
)
PNG_SIZE = {"width": 1100, "height": 560, "scale": 2}


@dataclass(frozen=True)
class Report:
    html: Path
    pngs: tuple[Path, ...]
    png_error: str | None = None  # why no PNG was written (no browser for kaleido, ...)


def build_figures(table: SweepTable) -> dict[str, go.Figure]:
    """The plots by file stem, in page order; a plot with nothing to show is left out."""
    study = figures.memory_study(table)
    found: dict[str, go.Figure | None] = {}
    if any(t.value is not None for t in table.trials):
        found["optimization_history"] = figures.optimization_history(study, table)
        found["parallel_coordinates"] = figures.parallel_coordinates(study, table)
        found["parameter_importance"] = figures.parameter_importances(study, table)
        for index, figure in enumerate(figures.group_importances(study, table), start=1):
            found[f"parameter_importance_{index}"] = figure
    found["learning_curves"] = figures.learning_curves(table)
    return {stem: figure for stem, figure in found.items() if figure is not None}


def write_report(table: SweepTable, out_dir: Path, *, png: bool = True) -> Report:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = build_figures(table)
    page = out_dir / "report.html"
    page.write_text(_page(table, plots), encoding="utf-8")
    if not png or not plots:
        return Report(page, ())
    paths = [out_dir / f"{stem}.png" for stem in plots]
    try:
        import plotly.io as pio

        pio.write_images(list(plots.values()), paths, **PNG_SIZE)
        # kaleido leaves out, without an error, a figure its browser did not draw in time (a
        # busy machine): draw those again one by one, where a failure does raise
        for figure, path in zip(plots.values(), paths, strict=True):
            if not path.exists():
                figure.write_image(path, **PNG_SIZE)
            if not path.exists():
                raise RuntimeError(f"kaleido wrote no {path.name}")
    except Exception as error:  # kaleido needs a Chrome or Chromium it can start
        return Report(page, (), png_error=png_failure(error))
    return Report(page, tuple(paths))


def png_failure(error: Exception) -> str:
    """Why kaleido wrote no PNG, in words: a missing browser named as such (kaleido's own
    error for it can be an empty ``RuntimeError``), else the error's first line."""
    browser = browser_problem()
    if browser is not None:
        return browser
    text = str(error).strip().splitlines()
    if text:
        return f"{type(error).__name__}: {text[0]}"
    return f"kaleido stopped with an {type(error).__name__} that gives no reason"


def browser_problem() -> str | None:
    """Why kaleido has no browser to start, or None when it finds one (as kaleido looks for
    it: ``BROWSER_PATH`` first, then Chrome's and Chromium's names on the ``PATH``)."""
    chosen = os.environ.get("BROWSER_PATH")
    if chosen:
        if os.path.isfile(chosen) and os.access(chosen, os.X_OK):
            return None
        return f"BROWSER_PATH={chosen!r} is not a browser that can be run"
    try:
        from choreographer.browsers.chromium import Chromium

        found = Chromium.find_browser(skip_local=False)
    except Exception:  # a kaleido whose driver looks elsewhere: it reported its own error
        return None
    return None if found else NO_BROWSER


def _page(table: SweepTable, plots: dict[str, go.Figure]) -> str:
    from plotly.offline import get_plotlyjs

    sections = [
        figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=stem,
            default_height="560px",
            config={"displaylogo": False, "responsive": True},
        )
        for stem, figure in plots.items()
    ]
    title = f"Sweep {table.sweep_id}" + (f" ({table.name})" if table.name else "")
    return _TEMPLATE.format(
        title=html.escape(title),
        summary=_summary(table),
        plotly=get_plotlyjs(),
        plots="\n".join(f'<section class="plot">{s}</section>' for s in sections),
        table=_trials_table(table),
    )


def _summary(table: SweepTable) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in table.counts().items() if n) or "no trials"
    parts = [
        f"<b>method</b> {html.escape(table.method)}",
        f"<b>metric</b> {html.escape(table.metric or '-')} ({table.goal})",
        f"<b>trials</b> {counts}",
        f"<b>source</b> <code>{html.escape(table.source)}</code>",
    ]
    best = table.best()
    if best is not None:
        command = rerun_command(table.rerun_overrides(best), table.program or "train.py")
        parts.append(
            f"<b>best</b> {best.value:.6g} (trial {best.number}, run <code>{best.run_id}</code>): "
            f"<code>{html.escape(command)}</code>"
        )
    return " &middot; ".join(parts)


def _trials_table(table: SweepTable) -> str:
    best = table.best()
    headers = ["#", "state", table.metric or "value", *(c.wandb_name for c in table.columns)]
    headers += ["duration (s)", "run"]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    rows = [_row(trial, table, best) for trial in sorted(table.trials, key=lambda t: t.number)]
    return (
        f'<table id="trials"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _row(trial: TrialRow, table: SweepTable, best: TrialRow | None) -> str:
    state = trial.state + (f" at step {trial.stopped_at}" if trial.stopped_at is not None else "")
    cells: Sequence[object] = [
        trial.number,
        state,
        "" if trial.value is None else f"{trial.value:.6g}",
        *(_cell(trial.params.get(c.key)) for c in table.columns),
        "" if trial.duration_s is None else f"{trial.duration_s:.1f}",
        trial.run_id,
    ]
    kind = "best" if best is not None and trial.number == best.number else trial.state
    title = f' title="{html.escape(trial.error)}"' if trial.error else ""
    body = "".join(f"<td>{html.escape(str(cell))}</td>" for cell in cells)
    return f'<tr class="{kind}"{title}>{body}</tr>'


def _cell(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
h1 {{ font-size: 22px; margin: 0 0 6px; }}
p.summary {{ margin: 0 0 18px; line-height: 1.6; }}
section.plot {{ margin: 0 0 20px; border: 1px solid #e5e5e5; border-radius: 6px; }}
table {{ border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }}
th, td {{ padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }}
th {{ cursor: pointer; background: #f6f6f6; position: sticky; top: 0; }}
tr.best td {{ background: #e3f5e1; font-weight: 600; }}
tr.failed td {{ color: #b22; }}
tr.stopped td {{ color: #777; }}
</style>
<script>{plotly}</script>
</head>
<body>
<h1>{title}</h1>
<p class="summary">{summary}</p>
{plots}
<h2>Trials</h2>
<p>Click a column to sort by it.</p>
{table}
<script>
document.querySelectorAll("#trials th").forEach(function (th, column) {{
  th.addEventListener("click", function () {{
    var body = document.querySelector("#trials tbody");
    var rows = Array.from(body.rows);
    var up = th.dataset.up !== "1";
    th.dataset.up = up ? "1" : "0";
    var key = function (row) {{
      var text = row.cells[column].textContent;
      var number = parseFloat(text);
      return isNaN(number) ? text : number;
    }};
    rows.sort(function (a, b) {{
      var x = key(a), y = key(b);
      var order = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return up ? order : -order;
    }});
    rows.forEach(function (row) {{ body.appendChild(row); }});
  }});
}});
</script>
</body>
</html>
"""
