"""`list`, `show`, `best` and `export` on real storages, through the command-line tool."""

from __future__ import annotations

import json
import os
import pty
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from hydra_wandb_sweeper.engine.base import TrialState
from tests.cli.cli_helpers import assert_one_line_error, cli
from tests.support.stored_sweeps import Outcome, store_sweep
from tests.support.sweeper_helpers import APP, results, run_sweep, sweep_env

LONG = "model.encoder.attention_dropout_probability"
PARAMETERS = {
    "+model": {"values": ["cnn_tcn", "cnn_bilstm"]},
    "optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    LONG: {"distribution": "uniform", "min": 0.0, "max": 0.5},
}


def score(params) -> Outcome:
    value = 1.0 - abs(params["optimizer.lr"] - 0.003) - params[LONG] / 10
    return Outcome(value=value, curve=[value / 2, value])


@pytest.fixture
def stored(tmp_path: Path) -> str:
    storage = tmp_path / ".wandb-sweeps" / "journal.log"
    return store_sweep(storage, PARAMETERS, 6, score, name="lr-search", program="train.py")


def test_list_shows_each_sweep_with_counts_and_best(tmp_path, stored):
    listing = cli(tmp_path, "list").stdout
    assert stored in listing and "lr-search" in listing and "score (max)" in listing
    [entry] = json.loads(cli(tmp_path, "list", "--json").stdout)
    assert entry["sweep_id"] == stored
    assert entry["trials"] == {"finished": 6, "stopped": 0, "running": 0, "failed": 0}
    assert (
        entry["best_value"] == max(json_trials(tmp_path, stored), key=lambda t: t["value"])["value"]
    )


def json_trials(tmp_path: Path, sweep_id: str, *args: str) -> list[dict]:
    return json.loads(cli(tmp_path, "show", sweep_id, "--json", *args).stdout)["trials_table"]


def test_show_uses_wandb_names_and_is_not_cut_when_piped(tmp_path, stored):
    out = cli(tmp_path, "show", stored).stdout
    header = next(line for line in out.splitlines() if LONG in line)
    assert len(header) > 100  # piped output is as wide as the table, not 80 columns
    assert "model" in header and "+model" not in header  # W&B name of +model
    for trial in json_trials(tmp_path, stored):
        assert trial["run_id"] in out
        assert set(trial["params"]) == {"model", "optimizer.lr", LONG}


def test_show_limits_its_rows_to_the_newest_or_the_best(tmp_path, stored):
    trials = json_trials(tmp_path, stored)
    newest = cli(tmp_path, "show", stored, "--limit", "2").stdout
    assert [t["run_id"] in newest for t in trials] == [False] * 4 + [True] * 2
    assert "4 earlier trials not shown (--limit 0 shows all)" in newest
    best = max(trials, key=lambda t: t["value"])
    by_value = cli(tmp_path, "show", stored, "--sort", "value", "--limit", "1").stdout
    assert [t["run_id"] for t in trials if t["run_id"] in by_value] == [best["run_id"]]
    assert "5 further trials not shown" in by_value


def test_show_sorts_by_value_best_first_and_by_parameter(tmp_path, stored):
    by_value = [t["value"] for t in json_trials(tmp_path, stored, "--sort", "value")]
    assert by_value == sorted(by_value, reverse=True)
    by_lr = [
        t["params"]["optimizer.lr"] for t in json_trials(tmp_path, stored, "--sort", "optimizer.lr")
    ]
    assert by_lr == sorted(by_lr)
    assert_one_line_error(
        cli(tmp_path, "show", stored, "--sort", "nope", check=False), "--sort", "'nope'"
    )


def test_best_prints_values_and_the_exact_rerun_command(tmp_path, stored):
    best = json.loads(cli(tmp_path, "best", stored, "--json").stdout)
    trials = json_trials(tmp_path, stored)
    assert best["value"] == max(t["value"] for t in trials)
    assert best["rerun"] == shlex.join([sys.executable, "train.py", *best["overrides"]])
    assert best["overrides"][0].startswith("+model=")
    text = cli(tmp_path, "best", stored).stdout
    assert best["rerun"] in text and f"#{best['number']}" in text
    assert "(Hydra key +model)" in text


def test_unknown_sweep_empty_storage_and_no_finished_trial_are_one_line_errors(tmp_path, stored):
    assert_one_line_error(cli(tmp_path, "show", "zzzz", check=False), "no sweep 'zzzz'", stored)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(cli(empty, "list", check=False), "no sweep storage at")
    assert_one_line_error(
        cli(tmp_path, "list", "--storage", str(tmp_path / "none.log"), check=False), "none.log"
    )
    empty_journal = empty / "empty.log"
    empty_journal.touch()
    completed = cli(empty, "list", "--storage", str(empty_journal), check=False)
    assert_one_line_error(completed, f"no sweeps in {empty_journal} yet")
    failing = tmp_path / "failing.log"
    failed = store_sweep(failing, PARAMETERS, 2, lambda p: Outcome(None, TrialState.FAILED))
    for command in ("best", "export"):
        extra = ["--name", "x"] if command == "export" else []
        completed = cli(tmp_path, command, failed, "--storage", str(failing), *extra, check=False)
        assert_one_line_error(
            completed, f"sweep {failed} has no finished trial with score", "2 failed"
        )
    assert_one_line_error(cli(tmp_path, "show", "a/b/c/d", check=False), "no sweep 'a/b/c/d'")
    # a W&B path with no W&B account configured (the tests' HOME has none)
    assert_one_line_error(cli(tmp_path, "show", "me/proj/abc", check=False), "cannot reach W&B")


def test_watch_refreshes_the_table_as_trials_finish(tmp_path, stored):
    """In a terminal, `show --watch` redraws with trials added meanwhile, until Ctrl+C."""
    primary, replica = pty.openpty()
    env = sweep_env(tmp_path) | {"COLUMNS": "200", "LINES": "50", "TERM": "xterm"}
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hydra_wandb_sweeper",
            "show",
            stored,
            "--watch",
            "--interval",
            "0.2",
        ],
        cwd=tmp_path,
        env=env,
        stdin=replica,
        stdout=replica,
        stderr=replica,
    )
    os.close(replica)
    seen = b""

    def read_until(fragment: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while fragment not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")[-2000:]
            ready, _, _ = select.select([primary], [], [], 0.5)
            if ready:
                seen += os.read(primary, 65536)

    try:
        read_until(b"6 finished")
        storage = tmp_path / ".wandb-sweeps" / "journal.log"
        from hydra_wandb_sweeper.engine.local.engine import LocalEngine

        engine = LocalEngine.join(str(storage), stored)
        trial = engine.ask()
        engine.tell(trial, TrialState.FAILED, None, "boom")
        engine.close()
        read_until(trial.run_id.encode())
        read_until(b"1 failed")
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=30) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
        os.close(primary)


def test_export_of_a_real_sweep_composes_its_best_trial(tmp_path):
    """A sweep of the test app (a group swap and a value), exported, composes the best job."""
    run_sweep(
        tmp_path,
        "x=choice(0.5,1.0,2.0)",
        "shape=flat,bowl",
        "hydra.sweeper.method=grid",
        "hydra.sweeper.metric={name:loss,goal:maximize}",
        "label=kept",
    )
    sweep_id = results(tmp_path)["sweep_id"]
    conf = tmp_path / "conf"
    shutil.copytree(APP.parent / "conf", conf)
    out = cli(
        tmp_path, "export", sweep_id, "--name", "best", "--storage", str(tmp_path / "journal.log")
    ).stdout
    assert f"python {APP} +experiment=best" in out
    best_overrides = results(tmp_path)["best_overrides"]
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        trial = OmegaConf.to_container(compose("config", overrides=best_overrides))
        exported = OmegaConf.to_container(compose("config", overrides=["+experiment=best"]))
    assert exported == trial
    # the worst point of the bowl wins a maximized loss: x=2.0 with the group swapped
    assert "shape=bowl" in best_overrides
    assert trial["label"] == "kept" and trial["x"] == 2.0 and trial["shape"]["offset"] == 1.0


def test_report_without_a_browser_says_so_in_words(tmp_path, stored):
    # as on a machine without Chrome or Chromium: kaleido itself answered an empty RuntimeError
    env = {**sweep_env(tmp_path), "BROWSER_PATH": str(tmp_path / "no-such-chromium")}
    completed = cli(tmp_path, "report", stored, "--out", "r", env=env)
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "JSONError" not in completed.stdout + completed.stderr
    (line,) = [line for line in completed.stdout.splitlines() if line.startswith("No PNG")]
    assert (
        line
        == f"No PNG files: BROWSER_PATH='{tmp_path}/no-such-chromium' is not a browser that can be run"
    )
    assert (tmp_path / "r" / "report.html").exists() and not list((tmp_path / "r").glob("*.png"))


def test_report_writes_the_page_where_asked(tmp_path, stored):
    out = cli(tmp_path, "report", stored, "--out", "r", "--no-png").stdout
    assert "Report: r/report.html" in out and "6 trials in" in out
    page = (tmp_path / "r" / "report.html").read_text()
    assert "Sweep " + stored in page and "python train.py +model=" in page


def test_report_into_a_folder_that_cannot_be_made_is_one_line(tmp_path, stored):
    (tmp_path / "a-file").write_text("")
    completed = cli(tmp_path, "report", stored, "--out", "a-file/r", "--no-png", check=False)
    assert_one_line_error(completed, "cannot write the report into a-file/r")
