"""pytest fixtures of the caruso test kit (see :mod:`caruso_core.testing`).

``caruso_manager``
    a manager subprocess on 127.0.0.1 with its own database in the test's tmp folder;
    ``CARUSO_MANAGER`` points at it for the test, and ``CARUSO_DATA`` at the data folder
    where it made the deployment and operator secrets, so that the test, its hosts and
    its ``caruso`` commands prove them as a deployment's processes do. Its lease is the
    value of the fixture ``caruso_lease`` (3 s; override the fixture to change it).
``caruso_host(reference, *, name, version, config, properties, standby, replace, cwd, launcher)``
    hosts a service with ``caruso serve`` in a subprocess (run by the command ``launcher``
    if given, e.g. ``["setpriv", ...]``) and returns once it is registered
    (``.instance_id``, ``.uri``, ``.stop()``, ``.kill()``, ``.output``).
    The folder of the requesting test module is importable by the child.
    Every host still running at the end of the test is stopped.
``caruso_client``
    ``caruso_core.connect(caruso_manager.uri)``.
``chromium``
    the session's headless Chromium (see :mod:`caruso_core.testing.browser`).
``smtp_server``
    a real SMTP server on 127.0.0.1 keeping what it receives (``.host``, ``.port``,
    ``.messages``, ``.recipients``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from caruso_core.client import Client, connect
from caruso_core.testing.browser import chromium  # noqa: F401  (a fixture of this plugin)
from caruso_core.testing.mail import smtp_server  # noqa: F401  (a fixture of this plugin)
from caruso_core.testing.processes import HostProcess, ManagerProcess, child_environment


@pytest.fixture
def caruso_lease() -> float:
    return 3.0


@pytest.fixture
def caruso_manager(tmp_path: Path, caruso_lease: float, monkeypatch: pytest.MonkeyPatch,
                   request: pytest.FixtureRequest) -> Iterator[ManagerProcess]:
    workdir = tmp_path / "caruso-manager"
    workdir.mkdir()
    env = child_environment([str(request.path.parent)], tmp_path / "data", None)
    manager = ManagerProcess(workdir, caruso_lease, env)
    monkeypatch.setenv("CARUSO_MANAGER", manager.uri)
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    try:
        yield manager
    finally:
        manager.stop()


@pytest.fixture
def caruso_host(caruso_manager: ManagerProcess, tmp_path: Path,
                request: pytest.FixtureRequest) -> Iterator[Callable[..., HostProcess]]:
    started: list[HostProcess] = []

    def start(reference: str, *, cwd: str | None = None, **options: Any) -> HostProcess:
        env = child_environment([cwd or str(request.path.parent)], tmp_path / "data", caruso_manager.uri)
        host = HostProcess(reference, caruso_manager, env, cwd, **options)
        started.append(host)
        return host

    try:
        yield start
    finally:
        for host in reversed(started):
            host.stop()


@pytest.fixture
def caruso_client(caruso_manager: ManagerProcess) -> Client:
    return connect(caruso_manager.uri)
