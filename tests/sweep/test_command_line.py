"""This process's command line as W&B's agent runs it on another machine."""

from __future__ import annotations

import sys
from pathlib import Path

from hydra_wandb_sweeper.sweep.commands import CommandLine


def _line(launch_dir: Path, *program: str) -> CommandLine:
    return CommandLine(
        launch_dir=str(launch_dir),
        program=(sys.executable, *program),
        flags=(),
        overrides=(),
        run_overrides=(),
    )


def test_a_script_in_the_launch_folder_is_named_relative_to_it(tmp_path: Path) -> None:
    script = tmp_path / "src" / "train.py"
    assert _line(tmp_path, str(script)).portable_program() == ("src/train.py",)


def test_a_script_elsewhere_and_a_module_are_named_as_launched(tmp_path: Path) -> None:
    assert _line(tmp_path, "/opt/app/train.py").portable_program() == ("/opt/app/train.py",)
    assert _line(tmp_path, "-m", "pkg.train").portable_program() == ("-m", "pkg.train")
