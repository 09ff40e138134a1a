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
import threading
import time
from typing import Any, Callable

import attrs

from caruso_core import credentials, signals
from caruso_core.children import Child
from caruso_core.client import Client
from caruso_core.deployment import Deployment
from caruso_core.errors import CarusoError, ConfigError

READY_TIMEOUT = 60.0
STOP_GRACE = 40.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0


@attrs.define
class Supervised:
    """One supervised command, how to (re)start it, and its current process."""

    label: str
    arguments: list[str]
    environment: dict[str, str]
    name: str | None = None          # the service's registered name (None: the manager)
    config: dict[str, Any] | None = None
    child: Child | None = None
    backoff: float = 1.0
    restart_at: float | None = None
    ended: bool = False

    @property
    def instance_id(self) -> str | None:
        """The instance id its current process registered, once it said it is ready."""
        return (self.child.record or {}).get("instance_id") if self.child is not None else None


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
        manager_args = ["manager", "--uri", deployment.manager_uri, "--lease", str(deployment.lease), "--ready-json"]
        if deployment.manager_db:
            manager_args += ["--db", deployment.manager_db]
        if insecure:
            manager_args.append("--insecure")
        self.children = [Supervised("manager", manager_args, {**base, "CARUSO_OPERATOR_SECRET": operator or ""})]
        for entry in deployment.services:
            environment = {**base, "CARUSO_OPERATOR_SECRET": ""}
            if operator:
                environment["CARUSO_GRANT"] = credentials.grant(operator, entry.spec.name)
            self.children.append(Supervised(entry.key, ["serve", *entry.serve_arguments(deployment.manager_uri),
                                                         "--ready-json"], environment, entry.spec.name, entry.config))

    def run(self) -> None:
        """Start everything, supervise until SIGINT/SIGTERM (or :meth:`stop`), stop everything.

        :attr:`ready` is set once every child is up.
        """
        signals.on_stop(self._stop.set)
        try:
            for supervised in self.children:
                self._start(supervised)
                self._await_ready(supervised)
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

    def _start(self, supervised: Supervised) -> None:
        supervised.ended = False
        supervised.child = Child(supervised.arguments, supervised.environment,
                                 stdin_text=None if supervised.config is None else json.dumps(supervised.config),
                                 echo=lambda line: self._echo(f"[{supervised.label}] {line}"))

    def _await_ready(self, supervised: Supervised) -> None:
        assert supervised.child is not None
        try:
            supervised.child.wait_ready(READY_TIMEOUT, give_up=self._stop.is_set)
        except ConfigError:
            raise ConfigError(f"{supervised.label} did not start; its output is above") from None

    def _restart_crashed(self) -> None:
        now = time.monotonic()
        for supervised in self.children:
            assert supervised.child is not None
            if supervised.restart_at is not None:
                if now >= supervised.restart_at:
                    supervised.restart_at = None
                    self._echo(f"restarting {supervised.label}")
                    self._start(supervised)
                continue
            code = supervised.child.process.poll()
            if code is None:
                if now - supervised.child.started_at > STABLE_AFTER:
                    supervised.backoff = 1.0
                continue
            if code == 0:
                if not supervised.ended:
                    supervised.ended = True
                    self._ended(supervised)
                continue
            self._leave_registry(supervised)
            self._echo(f"{supervised.label} exited with code {code}; restarting in {supervised.backoff:g}s")
            self._restart_later(supervised, now)

    def _restart_later(self, supervised: Supervised, now: float) -> None:
        supervised.restart_at = now + supervised.backoff
        supervised.backoff = min(supervised.backoff * 2, MAX_BACKOFF)

    def _ended(self, supervised: Supervised) -> None:
        """A service exited cleanly: restart it if nobody took over, report who did if somebody did."""
        if supervised.name is None:
            self._echo(f"{supervised.label} ended")
            return
        try:
            active = [s for s in self._client.services() if s["name"] == supervised.name and s["state"] == "active"]
        except CarusoError as error:
            self._echo(f"{supervised.label} ended and the manager cannot say who serves {supervised.name} "
                       f"({error}); restarting it")
            active = []
        if active:
            self._echo(f"{supervised.label} ended: {active[0]['instance_id']} (version {active[0]['version']}) "
                       f"serves {supervised.name} now, outside this supervisor")
            return
        self._echo(f"WARNING: {supervised.label} was retired and no instance of {supervised.name} is active; "
                   "restarting it")
        self._restart_later(supervised, time.monotonic())

    def _check_registrations(self) -> None:
        """Kill and restart a service whose process lives but whose lease lapsed (it hangs)."""
        try:
            registrations = {s["instance_id"]: s for s in self._client.services()}
        except CarusoError:
            return
        for supervised in self.children:
            found = registrations.get(supervised.instance_id or "")
            if found is None or found["healthy"] or supervised.child is None or not supervised.child.alive:
                continue
            self._echo(f"WARNING: {supervised.label} ({supervised.instance_id}) stopped renewing its lease; "
                       "killing and restarting it")
            supervised.child.kill()
            self._leave_registry(supervised)
            self._restart_later(supervised, time.monotonic())

    def _leave_registry(self, supervised: Supervised) -> None:
        """Remove a dead service's registration, so that clients stop trying it at once."""
        if supervised.instance_id is None:
            return
        try:
            self._client.unregister(supervised.instance_id)
        except CarusoError:
            pass       # already gone, or the manager is down (it expires then)

    def _shutdown(self) -> None:
        for supervised in reversed(self.children):
            child = supervised.child
            if child is None or not child.alive:
                continue
            if child.stop(STOP_GRACE) == -signal.SIGKILL:
                self._echo(f"{supervised.label} did not stop within {STOP_GRACE:g}s; killed it")
        self._echo("caruso is down")
