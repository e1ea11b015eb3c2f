"""Every subcommand answers --help, and the tool with no command lists them."""

from __future__ import annotations

import pytest

from tests.cli.cli_helpers import cli

COMMANDS = ("list", "show", "best", "export", "report", "stop", "resume")


def test_no_command_lists_every_command(tmp_path):
    completed = cli(tmp_path, check=False)
    for command in COMMANDS:
        assert command in completed.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(tmp_path, command):
    text = cli(tmp_path, command, "--help").stdout
    assert f"Usage: python -m hydra_wandb_sweeper {command}" in " ".join(text.split())
