"""pytest fixtures for tests against a real MariaDB server (loaded through ``pytest11``).

``mariadb_url`` (session)
    SQLAlchemy URL (driver PyMySQL) of a throwaway server: ``CARUSO_TEST_MARIADB_URL``
    when set, else a server of the installed MariaDB binaries in a temporary folder of its
    own (data, socket, log), listening only on 127.0.0.1 on a free port, stopped at the end
    of the session. As root, the server runs as the ``mysql`` user. Its character set is
    utf8mb4 with the case-insensitive collation Debian configures, like a server a legacy
    application would use. Without binaries the tests fail and say how to install them.
``mariadb_database``
    URL of a fresh, empty database on that server for one test; dropped afterwards.

Tests that need the server may be marked ``mariadb`` (registered here), so that a run can
leave them out with ``-m "not mariadb"``.
"""
from __future__ import annotations

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
from caruso_core.testing.waiting import eventually

ENVIRONMENT = "CARUSO_TEST_MARIADB_URL"
DAEMON = "mariadbd"
INSTALLER = "mariadb-install-db"
INSTALL_HINT = ("MariaDB tests need the MariaDB server: apt-get install mariadb-server "
                f"(or set {ENVIRONMENT} to the URL of a server tests may use)")
# a throwaway server: no durability, no binary log, small buffers, one tablespace (fast DDL)
SERVER_SETTINGS = ("--skip-grant-tables", "--skip-name-resolve", "--skip-log-bin",
                   "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--innodb-file-per-table=0",
                   "--innodb-buffer-pool-size=64M", "--innodb-use-native-aio=0", "--max-connections=500",
                   "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mariadb: runs against the MariaDB server started for the test session")


class Server:
    """A temporary MariaDB server in its own folder, trusting every local connection."""

    def __init__(self, daemon: str, installer: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="caruso-mariadb-"))
        self.user = "mysql" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.port = free_port()
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        as_user = [f"--user={self.user}"] if self.user else []
        own_tmp = f"--tmpdir={self.folder}"     # servers of parallel workers must not share /tmp's temp tables
        installed = subprocess.run([installer, "--no-defaults", f"--datadir={self.data}", *as_user, own_tmp,
                                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                                   capture_output=True, text=True, cwd=self.folder, timeout=120)
        if installed.returncode != 0:
            raise RuntimeError(f"{installer} failed ({installed.returncode}):\n{installed.stdout}{installed.stderr}")
        self.process = subprocess.Popen(
            [daemon, "--no-defaults", f"--datadir={self.data}", *as_user, own_tmp, "--bind-address=127.0.0.1",
             f"--port={self.port}", f"--socket={self.folder / 'server.sock'}",
             f"--pid-file={self.folder / 'server.pid'}", f"--log-error={self.log}", *SERVER_SETTINGS],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder)
        try:
            eventually(self._answers, limit=60, what=f"MariaDB on port {self.port} (log: {self.log})")
        except AssertionError:
            detail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            self.stop()
            raise RuntimeError(f"{daemon} did not start:\n{detail}") from None

    @property
    def url(self) -> str:
        # the server offers no TLS; without ssl_disabled PyMySQL would still build a TLS context
        # with the system's CA certificates for each connection (some 40 ms of CPU each)
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/?charset=utf8mb4&ssl_disabled=true"

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited with {self.process.returncode}")
        import pymysql

        try:
            pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=2, ssl_disabled=True).close()
        except pymysql.err.OperationalError:
            return False
        return True

    def stop(self) -> None:
        try:
            self.process.kill()              # a throwaway server: no orderly shutdown needed
            self.process.wait(30)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    with server_url(ENVIRONMENT, _start) as url:
        yield url


def _start() -> Server:
    daemon, installer = shutil.which(DAEMON, path=f"/usr/sbin:{os.environ.get('PATH', '')}"), shutil.which(INSTALLER)
    if daemon is None or installer is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return Server(daemon, installer)


@pytest.fixture
def mariadb_database(mariadb_url: str) -> Iterator[str]:
    with throwaway_database(mariadb_url, '`') as url:
        yield url
