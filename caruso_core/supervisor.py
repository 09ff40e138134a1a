"""``caruso up``: run a deployment's manager and services as child processes.

Contract:

- the manager starts first; each service starts after the providers of the interfaces
  it requires have registered (the order of :func:`caruso_core.deployment.start_order`);
- a child that crashes (exits with a non-zero code or a signal) is restarted, after
  1, 2, 4 ... up to 30 seconds of backoff (the backoff resets once a child has run for
  a minute); a child that ends cleanly (code 0: a host retired by a hot-swap, or
  stopped by an operator) is not;
- SIGINT or SIGTERM stops the services in reverse order (each drains its calls and
  unregisters), then the manager; children still running after their grace are killed;
- every line a child prints is echoed with the child's name in front;
- children run in sessions of their own (a terminal's Ctrl-C reaches only the
  supervisor, which stops them in order) with ``CARUSO_MANAGER`` set to the manager.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Callable

import attrs

from caruso_core.deployment import Deployment
from caruso_core.errors import ConfigError

READY_TIMEOUT = 60.0
STOP_GRACE = 40.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0


@attrs.define
class Child:
    """One supervised process and how to (re)start it."""

    label: str
    arguments: list[str]
    ready_prefix: str
    process: subprocess.Popen[str] | None = None
    ready: threading.Event = attrs.field(factory=threading.Event)
    started_at: float = 0.0
    backoff: float = 1.0
    restart_at: float | None = None
    ended: bool = False


class Supervisor:
    """Starts, watches and stops the processes of one deployment."""

    def __init__(self, deployment: Deployment, echo: Callable[[str], None] = print) -> None:
        self.deployment = deployment
        self._echo = echo
        self._stop = threading.Event()
        self.ready = threading.Event()
        manager_args = ["manager", "--uri", deployment.manager_uri, "--lease", str(deployment.lease)]
        if deployment.manager_db:
            manager_args += ["--db", deployment.manager_db]
        self.children = [Child("manager", manager_args, "manager listening at")]
        self.children += [Child(entry.key, ["serve", *entry.serve_arguments(deployment.manager_uri)], "serving ")
                          for entry in deployment.services]

    def run(self) -> None:
        """Start everything, supervise until SIGINT/SIGTERM (or :meth:`stop`), stop everything.

        :attr:`ready` is set once every child is up.
        """
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: self._stop.set())
        try:
            for child in self.children:
                self._start(child)
                self._await_ready(child)
            names = ", ".join(c.label for c in self.children[1:]) or "no services"
            self._echo(f"caruso is up ({self.deployment.source}): manager at "
                       f"{self.deployment.manager_uri}; {names}. Ctrl-C stops it.")
            self.ready.set()
            while not self._stop.wait(0.25):
                self._restart_crashed()
        finally:
            self._shutdown()

    def stop(self) -> None:
        self._stop.set()

    def _start(self, child: Child) -> None:
        child.ready.clear()
        child.process = subprocess.Popen(
            [sys.executable, "-m", "caruso_core", *child.arguments], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True,
            env={**os.environ, "CARUSO_MANAGER": self.deployment.manager_uri})
        child.started_at = time.monotonic()
        threading.Thread(target=self._pump, args=(child, child.process), daemon=True).start()

    def _pump(self, child: Child, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._echo(f"[{child.label}] {line.rstrip()}")
            if line.startswith(child.ready_prefix):
                child.ready.set()

    def _await_ready(self, child: Child) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not child.ready.wait(0.1):
            assert child.process is not None
            if child.process.poll() is not None:
                raise ConfigError(f"{child.label} exited with code {child.process.returncode} while "
                                  "starting; its output is above")
            if self._stop.is_set() or time.monotonic() > deadline:
                raise ConfigError(f"{child.label} did not become ready within {READY_TIMEOUT:g}s")

    def _restart_crashed(self) -> None:
        now = time.monotonic()
        for child in self.children:
            assert child.process is not None
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restart_at = None
                    self._echo(f"restarting {child.label}")
                    self._start(child)
                continue
            code = child.process.poll()
            if code is None:
                if now - child.started_at > STABLE_AFTER:
                    child.backoff = 1.0
                continue
            if code == 0:
                if not child.ended:
                    child.ended = True
                    self._echo(f"{child.label} ended")
                continue
            self._echo(f"{child.label} exited with code {code}; restarting in {child.backoff:g}s")
            child.restart_at = now + child.backoff
            child.backoff = min(child.backoff * 2, MAX_BACKOFF)

    def _shutdown(self) -> None:
        for child in reversed(self.children):
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                self._echo(f"{child.label} did not stop within {STOP_GRACE:g}s; killing it")
                process.kill()
                process.wait()
        self._echo("caruso is down")
