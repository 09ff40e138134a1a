"""Manager and host subprocesses for tests: started, awaited, stopped."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

START_TIMEOUT = 60.0
STOP_TIMEOUT = 45.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A ``python -m caruso_core ...`` child whose output is collected line by line;
    ``launcher`` is a command that runs it (e.g. ``["setpriv", ...]``), if any."""

    def __init__(self, arguments: list[str], ready_prefix: str, env: dict[str, str],
                 cwd: str | None = None, launcher: Sequence[str] = ()) -> None:
        self.arguments = arguments
        self.output: list[str] = []
        self.ready_line = ""
        self._ready = threading.Event()
        self._prefix = ready_prefix
        self.process = subprocess.Popen([*launcher, sys.executable, "-m", "caruso_core", *arguments],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        bufsize=1, env=env, cwd=cwd)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"'caruso {' '.join(arguments[:2])}' did not start:\n" + self.text())

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            if not self._ready.is_set() and line.startswith(self._prefix):
                self.ready_line = line.strip()
                self._ready.set()

    def text(self) -> str:
        time.sleep(0.05)
        return "\n".join(self.output)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM (graceful) and wait; kill if it does not end in time. Returns the exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.alive:
            self.process.kill()
        self.process.wait()


class ManagerProcess(Process):
    """A manager on 127.0.0.1 with its own database; restartable on the same address."""

    def __init__(self, workdir: Path, lease: float, env: dict[str, str]) -> None:
        self.uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
        self.db = f"sqlite:///{workdir / 'manager.db'}"
        self.lease = lease
        self.env = env
        super().__init__(self._arguments(), "manager listening at", env)

    @property
    def secret(self) -> str:
        """The deployment secret the manager made in its data folder."""
        return (Path(self.env["CARUSO_DATA"]) / "secret").read_text(encoding="utf-8").strip()

    def _arguments(self) -> list[str]:
        return ["manager", "--uri", self.uri, "--db", self.db, "--lease", str(self.lease)]

    def restart(self, **environment: str) -> None:
        """Stop and start again at the same address and database, with ``environment`` added."""
        self.stop()
        self.env = {**self.env, **environment}
        Process.__init__(self, self._arguments(), "manager listening at", self.env)


class HostProcess(Process):
    """A ``caruso serve`` child; knows its instance id and URI once started."""

    def __init__(self, reference: str, manager: ManagerProcess, env: dict[str, str], cwd: str | None,
                 *, name: str | None = None, version: str | None = None,
                 config: dict[str, Any] | None = None, properties: dict[str, Any] | None = None,
                 standby: bool = False, replace: bool = False, launcher: Sequence[str] = ()) -> None:
        arguments = ["serve", reference, "--manager", manager.uri, "--config-json", json.dumps(config or {})]
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
        super().__init__(arguments, "serving ", env, cwd, launcher)
        # "serving NAME VERSION as INSTANCE_ID at URI"
        words = self.ready_line.split()
        self.instance_id, self.uri = words[4], words[6]


def child_environment(extra_paths: list[str], data_dir: Path, manager_uri: str | None) -> dict[str, str]:
    """The environment of test children: importable test modules, a private data folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*extra_paths, env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env["CARUSO_DATA"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if manager_uri:
        env["CARUSO_MANAGER"] = manager_uri
    return env
