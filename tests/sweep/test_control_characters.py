"""Values and names holding control characters (a terminal escape code) are shown escaped,
and the printed commands give them back exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from hydra_wandb_sweeper.engine.base import TrialRecord, TrialState
from hydra_wandb_sweeper.sweep.commands import shell_join
from hydra_wandb_sweeper.sweep.console import printable, trial_line

ESCAPED = "b\x1b[31mred\x07 \u009b]0;title é"


def test_control_characters_are_shown_as_escapes():
    assert printable(ESCAPED) == "b\\x1b[31mred\\x07 \\x9b]0;title é"
    assert printable(printable(ESCAPED)) == printable(ESCAPED)
    record = TrialRecord(1, "run1", TrialState.FAILED, None, {"label": ESCAPED}, "no \x1b[2J")
    line = trial_line(record, None)
    print(line)
    assert "\x1b" not in line and "label=b\\x1b[31mred" in line and "no \\x1b[2J" in line


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_a_printed_command_gives_control_characters_back_exactly():
    arguments = [f"label={ESCAPED}", "quotes ' \" \\ and\nlines\t", "plain"]
    command = shell_join(
        [sys.executable, "-c", "import sys, json; print(json.dumps(sys.argv[1:]))", *arguments]
    )
    print(command)
    assert "\x1b" not in command and "\n" not in command
    ran = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True)
    assert json.loads(ran.stdout) == arguments
