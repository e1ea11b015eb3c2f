"""Where the embedded engine keeps its state: ``.wandb-sweeps/`` in the launch folder, out of git."""

from __future__ import annotations

import subprocess

from tests.support.sweeper_helpers import sweep_command, sweep_env


def test_the_default_storage_is_in_the_launch_folder_and_ignored_by_git(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    command = [arg for arg in sweep_command(tmp_path, "x=0,1") if "sweeper.storage" not in arg]
    completed = subprocess.run(
        [*command, "hydra.sweeper.method=grid"],
        cwd=project,
        env=sweep_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert (project / ".wandb-sweeps" / "journal.log").is_file()
    assert (project / ".wandb-sweeps" / ".gitignore").read_text().splitlines()[-1] == "*"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == "", "nothing of the sweep's state shows in git"
