"""The docs site: `mkdocs build --strict` passes, and headless Chromium renders every page
with no link to a page, file or anchor that the site does not have."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from tests.inspect.test_report import open_in_chromium

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
_HREF = re.compile(r'<a\b[^>]*\bhref="([^"]*)"')
_ID = re.compile(r'\bid="([^"]+)"')


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        for value in entry.values():
            pages.extend(_nav_pages(value) if isinstance(value, list) else [value])
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return out


def _page_file(site: Path, source: str) -> Path:
    stem = source.removesuffix(".md")
    return site / "index.html" if stem == "index" else site / stem / "index.html"


def _target(page: Path, href: str) -> tuple[Path, str] | None:
    """The file and anchor a link of ``page`` points to; None for links off the site."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("mailto:"):
        return None
    path = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
    if path.is_dir():
        path = path / "index.html"
    return path, parts.fragment


def test_every_page_renders_and_every_link_resolves(site, tmp_path):
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    sources = _nav_pages(nav)
    assert len(sources) >= 15
    broken: list[str] = []
    ids: dict[Path, set[str]] = {}
    doms: dict[Path, str] = {}
    for source in sources:
        page = _page_file(site, source)
        assert page.is_file(), source
        opened = open_in_chromium(page, tmp_path / "profile", "--dump-dom")
        dom = opened.stdout
        assert "<h1" in dom and "</article>" in dom, (source, opened.stderr[-2000:])
        doms[page.resolve()] = dom
        ids[page.resolve()] = set(_ID.findall(dom))
    for page, dom in doms.items():
        for href in _HREF.findall(dom):
            target = _target(page, href)
            if target is None:
                continue
            path, anchor = target
            if not path.exists():
                broken.append(f"{page.relative_to(site.resolve())}: {href}")
            elif anchor and path in ids and anchor not in ids[path]:
                broken.append(f"{page.relative_to(site.resolve())}: {href} (no #{anchor})")
    assert broken == []


def test_the_references_are_generated(site):
    settings = (site / "settings" / "index.html").read_text()
    # every field of the config dataclass, with the comment written above it
    assert "bayes_startup_trials" in settings and "Sobol" in settings
    assert "early_terminate.eta" in settings
    cli = (site / "cli" / "index.html").read_text()
    for command in ("list", "show", "best", "export", "report", "stop", "resume", "slurm-script"):
        assert f"hydra-wandb-sweeper {command}" in cli
