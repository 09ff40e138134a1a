"""pytest fixtures of the caruso test kit (see :mod:`caruso_core.testing`).

``caruso_manager``
    a manager on 127.0.0.1 in a thread of the test process, with its own database in
    the test's tmp folder; ``CARUSO_MANAGER`` points at it for the test, and
    ``CARUSO_DATA`` at the data folder where it made the deployment and operator
    secrets, so that the test, its hosts and its ``caruso`` commands prove them as a
    deployment's processes do (``.uri``, ``.secret``, ``.restart(operator_secret=...)``).
    Its lease is the value of the fixture ``caruso_lease`` (3 s; override the fixture to
    change it).
``caruso_manager_process``
    the same as a ``caruso manager`` subprocess (``.process``, ``.output``), for tests of
    what only a process shows; a test that asks for it gets its hosts registered there.
``caruso_host(reference, *, name, version, config, properties, standby, replace, process, cwd, launcher)``
    hosts a service and returns once it is registered (``.instance_id``, ``.uri``,
    ``.stop()``). By default in a thread of the test process (``.halt()`` ends it as a
    crash would); with ``process=True`` (implied by ``cwd`` or ``launcher``) with
    ``caruso serve`` in a subprocess (``.kill()``, ``.process``, ``.output``), whose
    Python path has the folder of the requesting test module. Every host still running
    at the end of the test is stopped.
``caruso_client``
    ``caruso_core.connect(caruso_manager.uri)``.
``caruso_cluster``
    a manager for all the tests of one module (``.uri``, ``.client``, ``.host(...)``
    taking the options of ``caruso_host``): hosts it starts live until the module ends, so
    expensive services start once; tests share them and must not rely on a clean state.
``chromium``, ``chromium_calls``
    the session's headless Chromium, and the full browser for pages holding calls (see
    :mod:`caruso_core.testing.browser`).
``smtp_server``
    a real SMTP server on 127.0.0.1 keeping what it receives (``.host``, ``.port``,
    ``.messages``, ``.recipients``; ``.reply`` to refuse messages, ``.tried`` when each
    came); ``caruso_core.testing.mail.SmtpServer()`` is one that listens only once started,
    with STARTTLS or TLS and logins if asked. ``smtp_tls`` (session): a CA and the
    certificate of a relay on 127.0.0.1 it signed.
``caruso_network``
    three hosts ``h1``-``h3`` in network namespaces joined by a bridge, for the tests of
    one module (see :mod:`caruso_core.testing.netns`; skipped where namespaces cannot be made).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from caruso_core import remoting
from caruso_core.client import Client, connect
from caruso_core.testing.browser import caruso_playwright, chromium, chromium_calls  # noqa: F401  (fixtures)
from caruso_core.testing.mail import smtp_server, smtp_tls  # noqa: F401  (fixtures of this plugin)
from caruso_core.testing.netns import caruso_network  # noqa: F401  (a fixture of this plugin)
from caruso_core.testing.processes import HostProcess, ManagerProcess, ThreadHost, ThreadManager, child_environment


def pytest_configure(config: pytest.Config) -> None:
    """Hosts run in threads of the test process while pytest rewrites modules it imports:
    both build AST, which CPython 3.11 does not allow in two threads at once (see
    :func:`caruso_core.remoting.one_ast_at_a_time`)."""
    if not getattr(ast.parse, "__wrapped__", None):
        ast.parse = remoting.one_ast_at_a_time(ast.parse)


@pytest.fixture
def caruso_lease() -> float:
    return 3.0


class Hosts:
    """Starts hosts for one manager and stops them in reverse order."""

    def __init__(self, manager_uri: str, data: Path, test_folder: Path) -> None:
        self.manager_uri = manager_uri
        self._data = data
        self._folder = test_folder
        self.started: list[Any] = []

    def start(self, reference: str, *, process: bool = False, cwd: str | None = None,
              launcher: tuple[str, ...] = (), **options: Any) -> Any:
        if process or cwd or launcher:
            env = child_environment([cwd or str(self._folder)], self._data, self.manager_uri)
            host: Any = HostProcess(reference, self, env, cwd, launcher=launcher, **options)
        else:
            host = ThreadHost(reference, self.manager_uri, **options)
        self.started.append(host)
        return host

    @property
    def uri(self) -> str:
        return self.manager_uri

    def stop_all(self) -> None:
        while self.started:
            self.started.pop().stop()


def _environment(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.setenv("CARUSO_DATA", str(data))
    for key in ("CARUSO_SECRET", "CARUSO_OPERATOR_SECRET", "CARUSO_GRANT"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def caruso_manager(tmp_path: Path, caruso_lease: float, monkeypatch: pytest.MonkeyPatch,
                   request: pytest.FixtureRequest) -> Iterator[Any]:
    if "caruso_manager_process" in request.fixturenames:
        yield request.getfixturevalue("caruso_manager_process")
        return
    _environment(monkeypatch, tmp_path / "data")
    workdir = tmp_path / "caruso-manager"
    workdir.mkdir()
    manager = ThreadManager(workdir, caruso_lease)
    monkeypatch.setenv("CARUSO_MANAGER", manager.uri)
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture
def caruso_manager_process(tmp_path: Path, caruso_lease: float, monkeypatch: pytest.MonkeyPatch,
                           request: pytest.FixtureRequest) -> Iterator[ManagerProcess]:
    _environment(monkeypatch, tmp_path / "data")
    workdir = tmp_path / "caruso-manager"
    workdir.mkdir()
    manager = ManagerProcess(workdir, caruso_lease, child_environment([str(request.path.parent)],
                                                                       tmp_path / "data", None))
    monkeypatch.setenv("CARUSO_MANAGER", manager.uri)
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture
def caruso_host(caruso_manager: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    hosts = Hosts(caruso_manager.uri, tmp_path / "data", request.path.parent)
    try:
        yield hosts.start
    finally:
        hosts.stop_all()


@pytest.fixture
def caruso_client(caruso_manager: Any) -> Client:
    return connect(caruso_manager.uri)


class Cluster(Hosts):
    """A manager and its hosts for the tests of one module."""

    def __init__(self, work: Path, test_folder: Path) -> None:
        self.manager = ThreadManager(work, lease=3.0)
        super().__init__(self.manager.uri, work.parent / "data", test_folder)
        self.client = connect(self.manager.uri)
        self.host = self.start

    def close(self) -> None:
        self.stop_all()
        self.manager.stop()


@pytest.fixture(scope="module")
def caruso_cluster(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("cluster") / "manager"
    work.mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        _environment(monkeypatch, work.parent / "data")
        cluster = Cluster(work, request.path.parent)
        monkeypatch.setenv("CARUSO_MANAGER", cluster.uri)
        try:
            yield cluster
        finally:
            cluster.close()
