"""``caruso up``: run a deployment's manager and services as child processes.

Contract:

- the manager starts first; each service starts after the providers of the interfaces
  it requires have registered (the order of :func:`caruso_core.deployment.start_order`);
- the deployment's secrets come from :func:`caruso_core.credentials.ensure` (made in
  the data folder when missing) unless it runs insecure; every child gets the
  deployment secret, the manager the operator secret, and each service only the grant
  of its own name (``CARUSO_GRANT``) and its configuration on standard input, so no
  secret or credential shows on a command line;
- a child that crashes (exits with a non-zero code or a signal) leaves the registry (its
  registration is removed at once) and is restarted, after 1, 2, 4 ... up to 30 seconds
  of backoff (the backoff resets once a child has run for a minute); so is a service
  whose registration the manager marks unhealthy while its process lives (it hangs: it
  is killed first);
- a service that ends cleanly (code 0) is restarted when no instance of its name is
  active any more (it was retired by an operator); when another instance took over (a
  hot-swap from outside this supervisor), that is reported;
- SIGINT or SIGTERM stops the services in reverse order (each drains its calls and
  unregisters), then the manager; children still running after their grace are killed;
- every line a child prints is echoed with the child's name in front;
- children run in sessions of their own (a terminal's Ctrl-C reaches only the
  supervisor, which stops them in order) with ``CARUSO_MANAGER`` set to the manager.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import attrs

from caruso_core import credentials
from caruso_core.client import Client
from caruso_core.deployment import Deployment
from caruso_core.errors import CarusoError, ConfigError

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
    environment: dict[str, str]
    name: str | None = None          # the service's registered name (None: the manager)
    config: dict[str, Any] | None = None
    instance_id: str | None = None
    process: subprocess.Popen[str] | None = None
    ready: threading.Event = attrs.field(factory=threading.Event)
    started_at: float = 0.0
    backoff: float = 1.0
    restart_at: float | None = None
    ended: bool = False


class Supervisor:
    """Starts, watches and stops the processes of one deployment."""

    def __init__(self, deployment: Deployment, echo: Callable[[str], None] = print, *,
                 insecure: bool = False) -> None:
        self.deployment = deployment
        self._echo = echo
        self._stop = threading.Event()
        self.ready = threading.Event()
        secret, operator = ("", None) if insecure else credentials.ensure()
        self._client = Client(deployment.manager_uri, operator_secret=operator)
        base = {**os.environ, "CARUSO_MANAGER": deployment.manager_uri, "CARUSO_SECRET": secret or ""}
        base.pop("CARUSO_GRANT", None)
        manager_args = ["manager", "--uri", deployment.manager_uri, "--lease", str(deployment.lease)]
        if deployment.manager_db:
            manager_args += ["--db", deployment.manager_db]
        if insecure:
            manager_args.append("--insecure")
        self.children = [Child("manager", manager_args, "manager listening at",
                               {**base, "CARUSO_OPERATOR_SECRET": operator or ""})]
        for entry in deployment.services:
            environment = {**base, "CARUSO_OPERATOR_SECRET": ""}
            if operator:
                environment["CARUSO_GRANT"] = credentials.grant(operator, entry.spec.name)
            self.children.append(Child(entry.key, ["serve", *entry.serve_arguments(deployment.manager_uri)],
                                       "serving ", environment, entry.spec.name, entry.config))

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
            next_check = time.monotonic() + self.deployment.lease
            while not self._stop.wait(0.25):
                self._restart_crashed()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.deployment.lease
                    self._check_registrations()
        finally:
            self._shutdown()

    def stop(self) -> None:
        self._stop.set()

    def _start(self, child: Child) -> None:
        child.ready.clear()
        child.instance_id = None
        child.ended = False
        child.process = subprocess.Popen(
            [sys.executable, "-m", "caruso_core", *child.arguments], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True,
            env=child.environment)
        assert child.process.stdin is not None
        with child.process.stdin:
            if child.config is not None:
                child.process.stdin.write(json.dumps(child.config))
        child.started_at = time.monotonic()
        threading.Thread(target=self._pump, args=(child, child.process), daemon=True).start()

    def _pump(self, child: Child, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._echo(f"[{child.label}] {line.rstrip()}")
            if line.startswith(child.ready_prefix):
                if child.name is not None:   # "serving NAME VERSION as INSTANCE_ID at URI"
                    child.instance_id = line.split()[4]
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
                    self._ended(child)
                continue
            self._leave_registry(child)
            self._echo(f"{child.label} exited with code {code}; restarting in {child.backoff:g}s")
            self._restart_later(child, now)

    def _restart_later(self, child: Child, now: float) -> None:
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, MAX_BACKOFF)

    def _ended(self, child: Child) -> None:
        """A child exited cleanly: restart a service nobody took over, report one somebody did."""
        if child.name is None:
            self._echo(f"{child.label} ended")
            return
        try:
            active = [s for s in self._client.services() if s["name"] == child.name and s["state"] == "active"]
        except CarusoError as error:
            self._echo(f"{child.label} ended and the manager cannot say who serves {child.name} ({error}); "
                       "restarting it")
            active = []
        if active:
            self._echo(f"{child.label} ended: {active[0]['instance_id']} (version {active[0]['version']}) "
                       f"serves {child.name} now, outside this supervisor")
            return
        self._echo(f"WARNING: {child.label} was retired and no instance of {child.name} is active; "
                   "restarting it")
        self._restart_later(child, time.monotonic())

    def _check_registrations(self) -> None:
        """Kill and restart a service whose process lives but whose lease lapsed (it hangs)."""
        try:
            registrations = {s["instance_id"]: s for s in self._client.services()}
        except CarusoError:
            return
        for child in self.children:
            found = registrations.get(child.instance_id or "")
            if (found is None or found["healthy"] or child.process is None
                    or child.process.poll() is not None):
                continue
            self._echo(f"WARNING: {child.label} ({child.instance_id}) stopped renewing its lease; "
                       "killing and restarting it")
            child.process.kill()
            child.process.wait()
            self._leave_registry(child)
            self._restart_later(child, time.monotonic())

    def _leave_registry(self, child: Child) -> None:
        """Remove a dead child's registration, so that clients stop trying it at once."""
        if child.instance_id is None:
            return
        try:
            self._client.unregister(child.instance_id)
        except CarusoError:
            pass       # already gone, or the manager is down (it expires then)

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
