"""A throwaway PostgreSQL server for tests, from the Debian ``postgresql`` package.

Started in a temporary folder on a free loopback port, stopped with ``pg_ctl stop`` (which
signals that server's own pid); the test is skipped when the binaries are not installed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres_server(settings: str = "") -> Iterator[str]:
    """A server of its own for the block; its URL as the README writes it (``postgresql://``,
    psycopg 3 from the ``postgres`` extra). Skips the test without the binaries or driver.
    ``settings``: more server options (``-c max_connections=3``)."""
    pytest.importorskip("psycopg")  # the `postgres` extra
    binaries = _binaries()
    if binaries is None:
        pytest.skip("PostgreSQL binaries are not installed")
    as_root = os.geteuid() == 0
    # initdb refuses root: the server runs as the postgres user, in a folder it owns
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    data = folder / "data"
    if as_root:
        shutil.chown(folder, "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run([*prefix, str(binaries / "initdb"), "-D", str(data), "--no-sync"], **run)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off {settings}"
    pg_ctl = [*prefix, str(binaries / "pg_ctl"), "-D", str(data)]
    subprocess.run([*pg_ctl, "-l", str(folder / "log"), "-o", options, "-w", "start"], **run)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def shared_postgres_url() -> Iterator[str]:
    """One server for a module's tests (each sweep is its own study in it)."""
    with postgres_server() as url:
        yield url
