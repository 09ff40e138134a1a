"""Managers and hosts for tests, as subprocesses (``caruso manager``/``caruso serve``,
started through :class:`caruso_core.children.Child`) or as threads of the test process.

Threads start in milliseconds and are the default of the fixtures; a subprocess is for
what only a process can show: a crash (``kill()``), its memory, its exit code, its
printed output, or another user's privileges.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Sequence

from caruso_core import credentials, manager as manager_module, plugins
from caruso_core.children import Child
from caruso_core.host import ServiceHost
from caruso_core.ports import free_port  # noqa: F401  (the test kit's, re-exported)

START_TIMEOUT = 60.0
STOP_TIMEOUT = 45.0


class Process:
    """A ``python -m caruso_core ...`` child whose output is collected line by line;
    ``launcher`` is a command that runs it (e.g. ``["setpriv", ...]``), if any."""

    def __init__(self, arguments: list[str], env: dict[str, str], cwd: str | None = None,
                 launcher: Sequence[str] = (), stdin_text: str | None = None) -> None:
        self.child = Child([*arguments, "--ready-json"], env, cwd=cwd, launcher=launcher, stdin_text=stdin_text)
        try:
            self.ready = self.child.wait_ready(START_TIMEOUT)
        except Exception as error:
            self.child.kill()
            raise RuntimeError(str(error)) from None

    @property
    def process(self) -> Any:
        return self.child.process

    @property
    def output(self) -> list[str]:
        return self.child.output

    def text(self) -> str:
        return "\n".join(self.output)

    @property
    def alive(self) -> bool:
        return self.child.alive

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM (graceful) and wait; kill if it does not end in time. Returns the exit code."""
        return self.child.stop(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.child.kill()


class ManagerProcess(Process):
    """A manager on 127.0.0.1 with its own database (or ``db``: managers given one PostgreSQL
    database form a group); restartable on the same address."""

    def __init__(self, workdir: Path, lease: float, env: dict[str, str], db: str | None = None) -> None:
        self.uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
        self.db = db or f"sqlite:///{workdir / 'manager.db'}"
        self.lease = lease
        self.env = env
        super().__init__(self._arguments(), env)

    @property
    def secret(self) -> str:
        """The deployment secret the manager made in its data folder."""
        return (Path(self.env["CARUSO_DATA"]) / credentials.DEPLOYMENT_FILE).read_text(encoding="utf-8").strip()

    def _arguments(self) -> list[str]:
        return ["manager", "--uri", self.uri, "--db", self.db, "--lease", str(self.lease)]

    def restart(self, operator_secret: str | None = None) -> None:
        """Stop and start again at the same address and database (with another operator secret)."""
        self.stop()
        if operator_secret is not None:
            self.env = {**self.env, "CARUSO_OPERATOR_SECRET": operator_secret}
        Process.__init__(self, self._arguments(), self.env)


def serve_arguments(reference: str, manager_uri: str, *, name: str | None = None, version: str | None = None,
                    properties: dict[str, Any] | None = None, standby: bool = False,
                    replace: bool = False) -> list[str]:
    """The ``caruso serve`` command line of a host (its configuration goes on standard input)."""
    arguments = ["serve", reference, "--manager", manager_uri, "--config-file", "-"]
    if name:
        arguments += ["--name", name]
    if version:
        arguments += ["--version", version]
    for key, value in (properties or {}).items():
        arguments += ["--property", f"{key}={json.dumps(value)}"]
    if standby:
        arguments.append("--standby")
    if replace:
        arguments.append("--replace")
    return arguments


class HostProcess(Process):
    """A ``caruso serve`` child; knows its instance id and URI once started."""

    def __init__(self, reference: str, manager: Any, env: dict[str, str], cwd: str | None,
                 *, config: dict[str, Any] | None = None, launcher: Sequence[str] = (), **options: Any) -> None:
        super().__init__(serve_arguments(reference, manager.uri, **options), env, cwd, launcher,
                         stdin_text=json.dumps(config or {}))
        self.instance_id, self.uri = self.ready["instance_id"], self.ready["uri"]


class ThreadManager:
    """A manager in a thread of the test process, on 127.0.0.1, with its own database; it
    makes the deployment secrets in the data folder the process's ``CARUSO_DATA`` names."""

    def __init__(self, workdir: Path, lease: float, operator_secret: str | None = None) -> None:
        self.uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
        self.db = f"sqlite:///{workdir / 'manager.db'}"
        self.lease = lease
        self.secret, made_operator = credentials.ensure()
        self._operator = operator_secret or made_operator
        self._start()

    def _start(self) -> None:
        ready, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(
            target=manager_module.serve, name="caruso-test-manager", daemon=True,
            kwargs={"uri": self.uri, "db": self.db, "lease": self.lease, "secret": self.secret or "",
                    "operator_secret": self._operator, "on_ready": lambda _: ready.set(), "stop": self._stop})
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the test manager at {self.uri} did not start")

    def restart(self, operator_secret: str | None = None) -> None:
        """Stop and start again at the same address and database (with another operator secret)."""
        self.stop()
        if operator_secret is not None:
            self._operator = operator_secret
        self._start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(STOP_TIMEOUT)


class ThreadHost:
    """A service host in a thread of the test process; ``kill()`` ends it as a crash would
    (no unregistering, no ``stop()``: its lease expires)."""

    def __init__(self, reference: str, manager_uri: str, *, config: dict[str, Any] | None = None,
                 standby: bool = False, replace: bool = False, **options: Any) -> None:
        properties = options.pop("properties", None)
        self.host = ServiceHost(plugins.load_service_class(reference), config or {}, manager=manager_uri,
                                standby=standby, replace=replace, properties=properties, **options)
        ready, failed = threading.Event(), []

        def run() -> None:
            try:
                self.host.run(on_ready=lambda _: ready.set())
            except BaseException as error:     # reported to the starting test below
                failed.append(error)
                ready.set()

        self._thread = threading.Thread(target=run, name=f"caruso-test-host-{reference}", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT) or failed:
            raise RuntimeError(f"hosting {reference} failed: {failed[0] if failed else 'no answer'}")
        self.instance_id, self.uri = self.host.instance_id, self.host.uri

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Unregister, drain, ``stop()`` and close, as SIGTERM does to a process."""
        self.host.retire_soon(unregister=True)
        self._thread.join(timeout)

    def kill(self) -> None:
        self.host.halt()
        self._thread.join(STOP_TIMEOUT)


def child_environment(extra_paths: list[str], data_dir: Path, manager_uri: str | None) -> dict[str, str]:
    """The environment of test children: importable test modules, a private data folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*extra_paths, env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env["CARUSO_DATA"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if manager_uri:
        env["CARUSO_MANAGER"] = manager_uri
    return env
