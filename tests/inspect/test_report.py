"""`report`: the HTML page opened in a real headless Chromium, offline, and the PNG files."""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from hydra_wandb_sweeper.engine.base import TrialState
from hydra_wandb_sweeper.engine.local.reading import LocalSweeps
from hydra_wandb_sweeper.inspect.report import (
    NO_BROWSER,
    browser_problem,
    png_failure,
    write_report,
)
from tests.support.stored_sweeps import Outcome, store_sweep

PARAMETERS = {
    "+model": {"values": ["cnn_tcn", "cnn_bilstm"]},
    "optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    # sampled by Optuna as a float in (0, 1): the report must show the normal's own values
    "model.dropout": {"distribution": "normal", "mu": 0.3, "sigma": 0.05},
}


def curve_of(params) -> Outcome:
    ceiling = 0.9 - 0.05 * math.log10(params["optimizer.lr"] / 3e-3) ** 2
    curve = [ceiling * (1 - math.exp(-epoch / 2)) for epoch in range(1, 9)]
    if params["optimizer.lr"] < 1e-3:
        return Outcome(curve[1], TrialState.STOPPED, curve[:2], stopped_at=2)
    if params["optimizer.lr"] > 0.08:
        return Outcome(None, TrialState.FAILED)
    return Outcome(curve[-1], curve=curve)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    storage = folder / "journal.log"
    sweep_id = store_sweep(
        storage,
        PARAMETERS,
        24,
        curve_of,
        metric="val/acc",
        early_terminate={"type": "hyperband", "min_iter": 2, "eta": 2},
        name="demo",
    )
    table = LocalSweeps(str(storage)).read(sweep_id)
    return table, write_report(table, folder / "out")


def test_page_is_self_contained_and_shows_real_values_and_wandb_names(report):
    table, written = report
    page = written.html.read_text()
    # plotly.js is inlined: no script, style or link is fetched from elsewhere
    assert not re.search(r"<(script|link|img)[^>]*\b(src|href)=", page)
    assert len(page) > 3_000_000
    for name in ("model", "optimizer.lr", "model.dropout"):
        assert f"<th>{name}</th>" in page
    assert "<th>+model</th>" not in page
    dropouts = [t.params["model.dropout"] for t in table.trials]
    assert min(dropouts) < 0.28 and max(dropouts) > 0.32  # the normal's values, not (0, 1)
    assert f"<td>{dropouts[0]:.4g}</td>" in page
    assert "stopped at step 2" in page and 'class="failed"' in page


@pytest.mark.oldest  # kaleido 1.0 with plotly 6.1.1 too
def test_pngs_are_written_and_not_blank(report):
    missing = browser_problem()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (.ci/run installs Debian's chromium)")
        pytest.skip(missing)
    _, written = report
    assert written.png_error is None
    assert [p.name for p in written.pngs] == [
        "optimization_history.png",
        "parallel_coordinates.png",
        "parameter_importance.png",
        "learning_curves.png",
    ]
    for path in written.pngs:
        image = Image.open(path).convert("L")
        assert image.size == (2200, 1120)
        assert ImageStat.Stat(image).stddev[0] > 10, path


def test_a_missing_browser_is_named_in_words(monkeypatch, tmp_path):
    # kaleido's own error when it finds no browser can be an empty RuntimeError
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "absent"))
    assert (
        png_failure(RuntimeError())
        == f"BROWSER_PATH={str(tmp_path / 'absent')!r} is not a browser that can be run"
    )
    monkeypatch.delenv("BROWSER_PATH")
    monkeypatch.setenv("PATH", str(tmp_path))
    if browser_problem() is None:  # a browser where kaleido also looks, outside the PATH
        pytest.skip("a browser is installed in a place kaleido always looks")
    assert png_failure(RuntimeError()) == NO_BROWSER


def test_the_browser_drivers_decoding_noise_is_not_logged():
    # "JSONError decoding message. Ignoring": logged by kaleido's driver, which goes on
    assert not logging.getLogger("choreographer.channels.pipe").isEnabledFor(logging.ERROR)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    return found


def open_in_chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium loads the page from disk with the network cut off."""
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no CDN could answer
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            *extra,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def console_messages(stderr: str) -> list[str]:
    """Every message the page wrote to the console: uncaught exceptions, failed loads,
    console.error or .log alike (Chromium logs each as one CONSOLE line, whatever its level,
    so the report's page must write none at all)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.slow
def test_page_renders_in_chromium_without_console_errors(report, tmp_path):
    _, written = report
    shot = tmp_path / "shot.png"
    loaded = open_in_chromium(
        written.html, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2600"
    )
    assert shot.exists(), loaded.stderr[-3000:]
    assert console_messages(loaded.stderr) == []
    image = Image.open(shot).convert("L")
    assert ImageStat.Stat(image).stddev[0] > 20  # not a blank page: plots and text drawn
    dom = open_in_chromium(written.html, tmp_path / "profile2", "--dump-dom").stdout
    # plotly replaced each plot's empty div with its SVG drawing
    assert dom.count('class="main-svg"') >= 2 * 4
    assert "parallel_coordinates" in dom and "learning_curves" in dom


@pytest.mark.slow
def test_console_errors_would_be_seen(tmp_path):
    """The check above can fail: a page with a script error is caught."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body><script>console.error('boom'); undefinedCall();</script></body></html>"
    )
    loaded = open_in_chromium(page, tmp_path / "profile")
    messages = console_messages(loaded.stderr)
    assert len(messages) == 2, loaded.stderr[-3000:]
    assert "boom" in messages[0] and "Uncaught ReferenceError" in messages[1]
