"""The sdist and the wheel, built as a package index would build them: the sdist from this
checkout, the wheel from the unpacked sdist (as pip does with an sdist).

The wheel holds the plugin only; the sdist holds everything the tests need.
"""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import hydra_wandb_sweeper

ROOT = Path(__file__).resolve().parents[1]
# what the tests, the example app and the CI need beside the package
SDIST_TREES = ("tests", "conf", "trainapp", "bench", ".ci", "docs")
SDIST_FILES = (
    "pyproject.toml",
    "MANIFEST.in",
    "LICENSE",
    "CHANGELOG.md",
    "README.md",
    "CONTRIBUTING.md",
    "train.py",
    "mkdocs.yml",
)


def _build(hook: str, source: Path, out: Path) -> Path:
    """Run setuptools' PEP 517 ``hook`` in ``source`` (without build isolation: nothing is
    downloaded) and return the file it wrote into ``out``."""
    out.mkdir(exist_ok=True)
    code = f"from setuptools import build_meta; print(build_meta.{hook}({str(out)!r}))"
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=source, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return out / completed.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("dist")
    sdist = _build("build_sdist", ROOT, tmp / "sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp / "unpacked", filter="data")
    (source,) = (tmp / "unpacked").iterdir()
    wheel = _build("build_wheel", source, tmp / "wheel")
    return sdist, wheel


def _tracked(tree: str) -> set[str]:
    """The files of ``tree`` in this checkout (as git tracks them, where git is here)."""
    listed = subprocess.run(
        ["git", "ls-files", "--", tree], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode == 0 and listed.stdout.strip():
        return {line for line in listed.stdout.splitlines() if (ROOT / line).is_file()}
    return {
        str(path.relative_to(ROOT))
        for path in (ROOT / tree).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_holds_the_plugin_only(built):
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/", 1)[0] for name in names}
    version = hydra_wandb_sweeper.__version__
    assert top == {
        "hydra_wandb_sweeper",
        "hydra_plugins",
        f"hydra_wandb_sweeper-{version}.dist-info",
    }
    assert "hydra_wandb_sweeper/py.typed" in names
    assert "hydra_wandb_sweeper/sweep/sweep_agents.sbatch" in names
    assert "hydra_plugins/wandb_sweeper/wandb_sweeper.py" in names
    assert "hydra_plugins/__init__.py" not in names  # a namespace package, as Hydra wants
    assert f"hydra_wandb_sweeper-{version}.dist-info/licenses/LICENSE" in names
    package = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "hydra_wandb_sweeper").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert package <= set(names), sorted(package - set(names))


def test_the_wheel_metadata(built):
    _, wheel = built
    version = hydra_wandb_sweeper.__version__
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"hydra_wandb_sweeper-{version}.dist-info/METADATA").decode()
    metadata = email.parser.Parser().parsestr(text)
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert "gp" in metadata.get_all("Provides-Extra")
    torch = [r for r in metadata.get_all("Requires-Dist") if r.startswith("torch")]
    assert torch and all('extra == "gp"' in r for r in torch), torch


def test_the_sdist_holds_what_the_tests_need(built):
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for file in SDIST_FILES:
        assert file in names, file
    for tree in SDIST_TREES:
        missing = _tracked(tree) - names
        assert not missing, f"{tree}: {sorted(missing)[:10]}"
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
