"""The versions we declare are the versions we test: every direct dependency's lower bound in
``pyproject.toml`` is the version ``.ci/oldest.txt`` installs for the oldest-versions run of
``.ci/run``, every one has an upper bound, and the installed versions satisfy them."""

from __future__ import annotations

import os
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import REPO_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest's own TOML reader before Python 3.11
    import tomli as tomllib

# Extras that are our own tools, not what a user installs the sweeper with.
TOOLS = {"dev", "docs"}
# torch: the oldest-versions run keeps torch 2.13 (the CPU build CI installs first: an old
# torch from the index is a multi-GB CUDA build), so torch's lower bound is Optuna's.
UNTESTED_LOWER = {"torch"}


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra, requirements in project["optional-dependencies"].items():
        if extra not in TOOLS:
            lines += [line for line in requirements if not line.startswith(project["name"])]
    requirements = [Requirement(line) for line in lines]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def oldest() -> dict[str, Version]:
    pins = {}
    for line in (REPO_ROOT / ".ci" / "oldest.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def lower_bound(requirement: Requirement) -> Version:
    (found,) = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    return found


def test_every_lower_bound_is_the_oldest_tested_version():
    pins = oldest()
    for name, requirement in declared().items():
        if name in UNTESTED_LOWER:
            continue
        assert name in pins, f"{name} is declared but not in .ci/oldest.txt"
        assert lower_bound(requirement) == pins[name], name
    # psycopg's binary part, named in the extra as psycopg[binary], is pinned beside it
    assert pins.pop(canonicalize_name("psycopg-binary")) == pins[canonicalize_name("psycopg")]
    assert set(pins) <= set(declared()), "oldest.txt pins a package nothing declares"


def test_every_dependency_has_an_upper_bound():
    for name, requirement in declared().items():
        assert any(spec.operator == "<" for spec in requirement.specifier), name


def test_the_installed_versions_are_within_the_declared_bounds():
    for name, requirement in declared().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # an extra not installed here
        assert requirement.specifier.contains(installed, prereleases=True), (name, installed)


@pytest.mark.oldest
def test_the_oldest_run_installs_the_oldest_versions():
    if not os.environ.get("HYDRA_WANDB_SWEEPER_OLDEST"):
        pytest.skip("not the oldest-versions run of .ci/run")
    for name, version in oldest().items():
        assert Version(metadata.version(name)) == version, name
