"""Every subcommand answers --help, the tool with no command lists them, --version, and the
SLURM script the package ships."""

from __future__ import annotations

import os
import subprocess

import pytest

import hydra_wandb_sweeper
from tests.cli.cli_helpers import assert_one_line_error, cli

COMMANDS = (
    "list",
    "show",
    "best",
    "export",
    "report",
    "stop",
    "resume",
    "slurm-script",
    "translate",
)


def test_no_command_lists_every_command(tmp_path):
    completed = cli(tmp_path, check=False)
    for command in COMMANDS:
        assert command in completed.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(tmp_path, command):
    text = cli(tmp_path, command, "--help").stdout
    assert f"Usage: python -m hydra_wandb_sweeper {command}" in " ".join(text.split())


def test_version(tmp_path):
    completed = cli(tmp_path, "--version")
    assert completed.stdout.strip() == f"hydra-wandb-sweeper {hydra_wandb_sweeper.__version__}"


def test_the_slurm_script_is_printed_and_written(tmp_path):
    printed = cli(tmp_path, "slurm-script").stdout
    assert printed.startswith("#!/bin/bash") and "#SBATCH --array" in printed
    written = cli(tmp_path, "slurm-script", "--out", "agents.sbatch")
    script = tmp_path / "agents.sbatch"
    assert f"Wrote {script.name}" in written.stdout
    assert script.read_text() == printed and os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


def test_the_slurm_script_into_a_missing_folder_is_one_line(tmp_path):
    completed = cli(tmp_path, "slurm-script", "--out", "nowhere/agents.sbatch", check=False)
    assert_one_line_error(completed, "cannot write nowhere/agents.sbatch")
