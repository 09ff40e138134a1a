"""pytest fixtures for tests against a real PostgreSQL server (loaded through ``pytest11``).

``postgres_url`` (session)
    SQLAlchemy URL of a throwaway server: ``CARUSO_TEST_POSTGRES_URL`` when set, else
    a temporary cluster of the installed PostgreSQL binaries, listening only on
    127.0.0.1 on a free port, stopped at the end of the session. As root, the
    cluster runs as the ``postgres`` user. Without binaries the tests fail and say
    how to install them.
``postgres_database``
    URL of a fresh, empty database on that server for one test; dropped afterwards.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from caruso_core.testing.databases import server_url, throwaway_database
from caruso_core.testing.processes import free_port

ENVIRONMENT = "CARUSO_TEST_POSTGRES_URL"
BINARIES = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = ("PostgreSQL tests need the PostgreSQL server: apt-get install postgresql "
                f"(or set {ENVIRONMENT} to the URL of a server tests may use)")
SERVER_SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


class Cluster:
    """A temporary PostgreSQL cluster in its own folder, trusting local connections.

    ``address``: where it listens (default 127.0.0.1); ``trusted``: networks (CIDR) whose
    clients it trusts besides the local ones; ``launcher``: a command prefix its server runs
    under (e.g. :meth:`caruso_core.testing.netns.Network.launcher`, to run it inside a host).
    """

    def __init__(self, binaries: Path, address: str = "127.0.0.1", trusted: tuple[str, ...] = (),
                 launcher: tuple[str, ...] = ()) -> None:
        self.binaries = binaries
        self.address = address
        self._launcher = launcher
        self.folder = Path(tempfile.mkdtemp(prefix="caruso-postgres-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.port = free_port()
        self.data = self.folder / "data"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(self.data / "pg_hba.conf", "a", encoding="utf-8") as rules:
            rules.writelines(f"host all all {network} trust\n" for network in trusted)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                  "-o", f"{SERVER_SETTINGS} -c listen_addresses={address} -p {self.port} -k {self.folder}", "start")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.address}:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.binaries / program), *arguments]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        command = [*self._launcher, *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder, timeout=120)
        if done.returncode != 0:
            log = self.folder / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}{done.stderr}{detail}")


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL binaries folder with initdb and pg_ctl, if any."""
    found = [Path(folder) for folder in glob.glob(BINARIES)
             if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists()]
    return max(found, key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
               default=None)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with server_url(ENVIRONMENT, _start) as url:
        yield url


def _start() -> Cluster:
    binaries = find_binaries()
    if binaries is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return Cluster(binaries)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    with throwaway_database(postgres_url, '"', ' WITH (FORCE)') as url:
        yield url
