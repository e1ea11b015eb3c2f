"""Sweeps written by this release (format 1, committed as a journal file and a SQLite
database under tests/fixtures/) resume, list and report on this and every later release;
a sweep of a newer format than this release reads is refused in one sentence."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from hydra_wandb_sweeper.engine.local.storage import open_storage
from hydra_wandb_sweeper.engine.local.stored import read_sweep
from hydra_wandb_sweeper.engine.local.sweep_format import (
    DEFINITION_ATTR,
    FORMAT_ATTR,
    FORMAT_VERSION,
)
from tests.cli.cli_helpers import cli
from tests.support.sweeper_helpers import APP, run_checked, sweep_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sweep_format_1"
# The sweeps in them: random over x and the shape group, 3 finished trials each.
SWEEPS = {"journal.log": "kppuprvv", "sweeps.db": "9fodfmsc"}
SPACE = ["x=interval(-2,3)", "shape=flat,bowl"]


def stored(tmp_path: Path, name: str) -> str:
    """A copy of the fixture (tests write to it); its storage spec."""
    shutil.copy(FIXTURES / name, tmp_path / name)
    return str(tmp_path / name) if name.endswith(".log") else f"sqlite:///{tmp_path / name}"


@pytest.mark.parametrize("name", SWEEPS)
def test_a_format_1_sweep_lists_shows_reports_and_resumes(tmp_path, name):
    storage, sweep_id = stored(tmp_path, name), SWEEPS[name]
    listed = cli(tmp_path, "list", "--storage", storage).stdout
    assert sweep_id in listed and "format-1" in listed
    shown = cli(tmp_path, "show", sweep_id, "--storage", storage).stdout
    assert "3 finished" in shown and "best loss = 4.83702" in shown
    cli(tmp_path, "report", sweep_id, "--storage", storage, "--out", "r", "--no-png")
    assert (tmp_path / "r" / "report.html").exists()
    command = [
        sys.executable,
        str(APP),
        "-m",
        "hydra/sweeper=wandb",
        *SPACE,
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.sweep_id={sweep_id}",
        "hydra.sweeper.count=2",
    ]
    run_checked(command, cwd=tmp_path, env=sweep_env(tmp_path), check=True, timeout=300)
    _, _, records = read_sweep(storage, sweep_id)
    assert [record.state.value for record in records] == ["finished"] * 5


@pytest.mark.parametrize("name", SWEEPS)
def test_a_newer_format_is_refused_in_one_sentence(tmp_path, name):
    storage, sweep_id = stored(tmp_path, name), SWEEPS[name]
    backend = open_storage(storage)
    study_id = backend.get_study_id_from_name(sweep_id)
    backend.set_study_user_attr(study_id, FORMAT_ATTR, FORMAT_VERSION + 1)
    expected = f"was written by a newer hydra-wandb-sweeper (sweep format {FORMAT_VERSION + 1}"
    shown = cli(tmp_path, "show", sweep_id, "--storage", storage, check=False)
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    (line,) = shown.stderr.strip().splitlines()
    assert expected in line and "upgrade hydra-wandb-sweeper" in line
    command = [
        sys.executable,
        str(APP),
        "-m",
        "hydra/sweeper=wandb",
        *SPACE,
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.sweep_id={sweep_id}",
    ]
    joined = subprocess.run(
        command, cwd=tmp_path, env=sweep_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert joined.returncode == 1 and "Traceback" not in joined.stderr
    assert expected in joined.stderr
    # one sentence, and Hydra's usual note on HYDRA_FULL_ERROR
    lines = [line for line in joined.stderr.splitlines() if line and "HYDRA_FULL_ERROR" not in line]
    assert len(lines) == 1
    # nothing ran: the newer sweep is left as it was
    trials = optuna.load_study(study_name=sweep_id, storage=open_storage(storage)).trials
    assert len(trials) == 3


def test_list_shows_the_other_sweeps_and_names_a_newer_one(tmp_path):
    storage, sweep_id = stored(tmp_path, "journal.log"), SWEEPS["journal.log"]
    backend = open_storage(storage)
    newer = optuna.create_study(storage=backend, study_name="from-a-newer-release")
    newer.set_user_attr(FORMAT_ATTR, FORMAT_VERSION + 1)
    newer.set_user_attr(DEFINITION_ATTR, {"method": "random", "parameters": []})
    listed = cli(tmp_path, "list", "--storage", storage)
    assert sweep_id in listed.stdout and "from-a-newer-release" not in listed.stdout
    (line,) = listed.stderr.strip().splitlines()
    assert line.startswith("not listed: sweep 'from-a-newer-release'")
    assert "upgrade hydra-wandb-sweeper" in line


def test_the_fixtures_are_of_the_format_this_release_writes(tmp_path):
    storage, sweep_id = stored(tmp_path, "journal.log"), SWEEPS["journal.log"]
    backend = open_storage(storage)
    attrs = backend.get_study_user_attrs(backend.get_study_id_from_name(sweep_id))
    # a new format gets its own fixtures beside these, which every release keeps reading
    assert attrs[FORMAT_ATTR] == 1 == FORMAT_VERSION


def test_a_sweep_from_before_numbered_formats_reads_as_format_1(tmp_path):
    # the same journal without the line that numbers its format, as releases before
    # numbered formats wrote it
    lines = (FIXTURES / "journal.log").read_text().splitlines(keepends=True)
    kept = [line for line in lines if f'"{FORMAT_ATTR}"' not in line]
    assert len(kept) == len(lines) - 1
    (tmp_path / "journal.log").write_text("".join(kept))
    storage, sweep_id = str(tmp_path / "journal.log"), SWEEPS["journal.log"]
    backend = open_storage(storage, read_only=True)
    assert FORMAT_ATTR not in backend.get_study_user_attrs(backend.get_study_id_from_name(sweep_id))
    shown = cli(tmp_path, "show", sweep_id, "--storage", storage).stdout
    assert "3 finished" in shown and "best loss = 4.83702" in shown


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        (
            "v3.0.0.d",
            "older Optuna (v3.0.0.d), which Optuna {optuna} reads after "
            "`optuna storage upgrade --storage {url}`",
        ),
        ("v99.0.0.a", "newer Optuna (v99.0.0.a) than this one ({optuna}): upgrade optuna"),
    ],
)
def test_a_database_of_another_optuna_schema_is_one_sentence(tmp_path, revision, expected):
    # Optuna migrates its database schema between some releases; the sweep's own format is
    # not at fault, and the sentence names the command with the real URL
    url = stored(tmp_path, "sweeps.db")
    with sqlite3.connect(tmp_path / "sweeps.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    expected = expected.format(optuna=optuna.__version__, url=url)
    shown = cli(tmp_path, "show", SWEEPS["sweeps.db"], "--storage", url, check=False)
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    (line,) = shown.stderr.strip().splitlines()
    assert expected in line
    command = [
        sys.executable,
        str(APP),
        "-m",
        "hydra/sweeper=wandb",
        *SPACE,
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"hydra.sweeper.storage={url}",
        f"hydra.sweeper.sweep_id={SWEEPS['sweeps.db']}",
    ]
    joined = subprocess.run(
        command, cwd=tmp_path, env=sweep_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert joined.returncode == 1 and "Traceback" not in joined.stderr
    lines = [line for line in joined.stderr.splitlines() if line and "HYDRA_FULL_ERROR" not in line]
    assert len(lines) == 1 and expected in lines[0]
