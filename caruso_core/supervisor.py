"""``caruso up``: run a deployment's manager and services as child processes.

Contract:

- the manager starts first (of several managers in ``[manager] uri``, the first, or on
  several hosts the one at this host's address; the others run elsewhere on the same
  PostgreSQL database, see :mod:`caruso_core.leadership`);
  each service starts after the providers of the interfaces
  it requires have registered (the order of :func:`caruso_core.deployment.start_order`);
- the deployment's secrets come from :func:`caruso_core.credentials.ensure` (made in
  the data folder when missing) unless it runs insecure; every child gets the
  deployment secret, the manager the operator secret, and each service only the grant
  of its own name (``CARUSO_GRANT``) and its configuration on standard input, the manager
  its database URL in ``CARUSO_MANAGER_DB``, so no secret or credential shows on a command line;
- a child that crashes (exits with a non-zero code or a signal) leaves the registry (its
  registration is removed at once) and is restarted, after 1, 2, 4 ... up to 30 seconds
  of backoff (the backoff resets once a child has run for a minute); so is a service
  whose registration the manager marks unhealthy while its process lives (it hangs: it
  is killed first); the registrations are read every quarter lease, as often as the
  manager's reaper looks, so the lease during which a lapsed registration is listed
  unhealthy before the manager removes it cannot pass between two reads;
- a service that ends cleanly (code 0) is restarted when no instance of its name is
  active any more (it was retired by an operator); when another instance took over (a
  hot-swap from outside this supervisor), that is reported;
- :meth:`Supervisor.swap` replaces a service by a new instance with the deployment's
  configuration (a new version, implementation or configuration given) on a free port,
  started and supervised here: it starts as a standby, the manager swaps it in (its state moved), and
  the instance it replaced stays as a standby for :meth:`Supervisor.back` until the next
  swap; the deployment's control service (:mod:`caruso_core.control`) offers both to
  ``caruso swap``; swaps run one at a time, none once the supervisor stops (its stop waits
  for one under way), and a new instance the manager made active is kept even when the
  answer to the swap (or the back) was lost;
- SIGINT or SIGTERM stops the services in reverse order (each drains its calls and
  unregisters), then the manager; children still running after their grace are killed;
  during the start it stops what started so far ("stopped while starting"; exit 0);
- every line a child prints is echoed with the child's name in front;
- children run in sessions of their own (a terminal's Ctrl-C reaches only the
  supervisor, which stops them in order) with ``CARUSO_MANAGER`` set to the manager (or the list);
- with the deployment's TLS (:class:`caruso_core.remoting.Tls`) the supervisor and every
  child speak only two-way TLS (children get it as ``PYRO_SSL_*`` variables);
- the part of a deployment on several hosts (:meth:`caruso_core.deployment.Deployment.on`)
  starts the manager only on its host; elsewhere the supervisor first waits for the
  manager to answer, and each service for the interfaces it requires that other hosts
  provide to be registered (each for at most ``READY_TIMEOUT``); services marked
  ``standby`` start (and restart) as standbys;
- a service restarted while another instance of its name is active (a failover moved it)
  restarts as a standby, so a name never gets a second active instance from a restart.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Any, Callable, Collection

import attrs

from caruso_core import control, credentials, plugins, signals
from caruso_core.children import Child
from caruso_core.client import Client
from caruso_core.contract import spec_of
from caruso_core.deployment import Deployment, ServiceEntry, record_manager_uri
from caruso_core.errors import CarusoError, ConfigError

READY_TIMEOUT = 60.0
STOP_GRACE = 40.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0


@attrs.define(repr=False)
class Supervised:
    """One supervised command, how to (re)start it, and its current process. Its repr is its
    label: its environment and configuration hold secrets, never shown in a message."""

    label: str
    arguments: list[str]
    environment: dict[str, str]
    name: str | None = None          # the service's registered name (None: the manager)
    config: dict[str, Any] | None = None
    entry: ServiceEntry | None = None
    child: Child | None = None
    backoff: float = 1.0
    restart_at: float | None = None
    ended: bool = False

    @property
    def instance_id(self) -> str | None:
        """The instance id its current process registered, once it said it is ready."""
        return (self.child.record or {}).get("instance_id") if self.child is not None else None

    def __repr__(self) -> str:
        return f"Supervised({self.label!r})"


class Supervisor:
    """Starts, watches and stops the processes of one deployment."""

    def __init__(self, deployment: Deployment, echo: Callable[[str], None] = print, *,
                 insecure: bool = False) -> None:
        self.deployment = deployment
        self._echo = echo
        self._stop = threading.Event()
        self.ready = threading.Event()
        secret, self._operator = ("", None) if insecure else credentials.ensure()
        self._client = Client(deployment.manager_uri, operator_secret=self._operator)
        self._lock = threading.RLock()            # around the lists of children (swaps come from other threads)
        self._swapping = threading.Lock()         # held through a whole swap or back (one at a time; not followed half made)
        self._standbys: dict[str, Supervised] = {}
        self._control: Any = None
        base = {**os.environ, "CARUSO_MANAGER": deployment.manager_uri, "CARUSO_SECRET": secret or "",
                **(deployment.tls.environment() if deployment.tls else {})}
        base.pop("CARUSO_GRANT", None)
        base.pop("CARUSO_MANAGER_DB", None)       # the manager's alone
        self._base = base
        self.children = [self._manager(insecure)] if deployment.runs_manager else []
        self.children += [self._service(entry.key, entry) for entry in deployment.services]

    def _manager(self, insecure: bool) -> Supervised:
        manager_args = ["manager", "--uri", self.deployment.manager_here, "--lease", str(self.deployment.lease),
                        "--ready-json"]
        if insecure:
            manager_args.append("--insecure")
        environment = {**self._base, "CARUSO_OPERATOR_SECRET": self._operator or ""}
        if self.deployment.manager_db:
            environment["CARUSO_MANAGER_DB"] = self.deployment.manager_db     # its password: no command line
        return Supervised("manager", manager_args, environment)

    def _service(self, label: str, entry: ServiceEntry) -> Supervised:
        environment = {**self._base, "CARUSO_OPERATOR_SECRET": ""}
        if self._operator:
            environment["CARUSO_GRANT"] = credentials.grant(self._operator, entry.spec.name)
        return Supervised(label, ["serve", *entry.serve_arguments(self.deployment.manager_uri), "--ready-json"],
                          environment, entry.spec.name, entry.config, entry)

    def run(self) -> None:
        """Start everything, supervise until SIGINT/SIGTERM (or :meth:`stop`), stop everything.

        :attr:`ready` is set once every child is up.
        """
        signals.on_stop(self._stop.set)
        forget_address: Callable[[], None] = lambda: None
        if self.deployment.tls is not None:
            self.deployment.tls.apply()
        try:
            try:
                if not self.deployment.runs_manager:
                    self._await_elsewhere(f"the manager at {self.deployment.manager_uri}", self._client.services)
                for supervised in self.children:
                    self._await_providers(supervised)
                    self._start(supervised)
                    self._await_ready(supervised)
            except ConfigError:
                if not self._stop.is_set():
                    raise
                self._echo("stopped while starting")   # Ctrl-C: what started stops, nobody is blamed
                return
            names = ", ".join(c.label for c in self.children if c.name) or "no services"
            self._serve_control()
            part = f" on host {self.deployment.part}" if self.deployment.part else ""
            forget_address = record_manager_uri(self.deployment.manager_uri)
            self._echo(f"caruso is up ({self.deployment.source}{part}): manager at "
                       f"{self.deployment.manager_uri}; {names}. Ctrl-C stops it.")
            self.ready.set()
            every = self.deployment.lease / 4
            next_check = time.monotonic() + every
            while not self._stop.wait(min(0.25, every)):
                with self._lock:
                    self._restart_crashed()
                    if time.monotonic() >= next_check and self._check_registrations():
                        next_check = time.monotonic() + every
                        if self._control is not None and not self._control.alive:
                            self._revive_control()
        finally:
            if self._control is not None:
                self._control.stop()
            self._shutdown()
            forget_address()

    def stop(self) -> None:
        self._stop.set()

    def _revive_control(self) -> None:
        """Serve the control service again after an operator retired it (tried at each check)."""
        self._echo("WARNING: the control service (caruso swap) was retired; serving it again")
        try:
            self._serve_control()
        except CarusoError as error:
            self._echo(f"WARNING: the control service could not be served again, trying later: {error}")

    def _serve_control(self) -> None:
        """Offer :meth:`swap` and :meth:`back` to ``caruso swap`` (with an operator secret)."""
        if self._operator:
            self._control = control.serve(self, self.deployment.manager_uri, self._operator, self._part_bind(),
                                          {"host": self.deployment.part} if self.deployment.part else None)

    def _part_bind(self) -> str | None:
        """The address this part's daemons bind to (None: the default)."""
        part = self.deployment.part
        return self.deployment.hosts[part].address if part else None

    def _await_providers(self, supervised: Supervised) -> None:
        """Wait until the interfaces ``supervised`` requires that no service here provides are registered."""
        here = {c.entry.spec.interface for c in self.children if c.entry is not None}
        for interface in supervised.entry.spec.requires if supervised.entry else ():
            if interface not in here:
                self._await_elsewhere(interface, lambda: self._client.lookup(interface))

    def _await_elsewhere(self, what: str, answer: Callable[[], Any]) -> None:
        """Wait (at most ``READY_TIMEOUT``) until ``answer()`` gives something: ``what`` runs on another host."""
        deadline = time.monotonic() + READY_TIMEOUT
        said = False
        while True:
            try:
                if answer():
                    return
            except CarusoError:
                pass
            if not said:
                self._echo(f"waiting for {what} (on another host)")
                said = True
            if time.monotonic() > deadline or self._stop.wait(0.25):
                raise ConfigError(f"{what} did not answer within {READY_TIMEOUT:g}s: start the host that runs it")

    def swap(self, name: str, version: str | None = None, use: str | None = None,
             config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Replace the active instance of service ``name`` (see the module's contract); its
        configuration is the deployment's with ``config`` merged in. ``{"active", "standby"}``."""
        with self._swapping:
            self._refuse_when_stopping()
            answer, older = self._swap(name, version, use, config)
        if older is not None:
            self._retire(older)
        return answer

    def _swap(self, name: str, version: str | None, use: str | None,
              config: dict[str, Any] | None) -> tuple[dict[str, Any], Supervised | None]:
        """The swap, and the standby it replaces (to retire)."""
        self._follow_manager(name)
        with self._lock:
            current = self._active(name)
        assert current.entry is not None
        entry = current.entry
        if use is not None:
            entry = attrs.evolve(entry, use=use, spec=spec_of(plugins.load_service_class(use)).evolve(
                name=entry.spec.name, properties=entry.spec.properties))
        entry = attrs.evolve(entry, spec=entry.spec.evolve(version=version), config={**entry.config, **(config or {})},
                             port=0)      # the instance it replaces keeps the entry's port, as a standby
        new = self._service(f"{entry.key}@{entry.spec.version}", entry)
        self._start(new, standby=True)
        try:
            self._await_ready(new)
            self._client.swap(name, new.instance_id or "")
        except BaseException:
            if not self._made_active(name, new):
                new.child and new.child.stop(STOP_GRACE)
                raise
        with self._lock:
            self.children[self.children.index(current)] = new
            older, self._standbys[name] = self._standbys.get(name), current
        self._echo(f"{name}: {new.instance_id} ({entry.spec.version}) is active; {current.instance_id} stands by")
        return {"active": new.instance_id, "standby": current.instance_id}, older

    def _made_active(self, name: str, new: Supervised) -> bool:
        """Whether the manager made ``new`` active although the swap's call failed (its answer
        was lost): then it is kept, not stopped (its predecessor stands by already)."""
        try:
            return new.instance_id is not None and new.instance_id in [
                row["instance_id"] for row in self._client.lookup(name)]
        except CarusoError:
            return False

    def _refuse_when_stopping(self) -> None:
        if self._stop.is_set():
            raise ConfigError("caruso up is stopping: no swap now")

    def back(self, name: str) -> dict[str, Any]:
        """Make the instance the last :meth:`swap` replaced active again (``{"active", "standby"}``)."""
        with self._swapping:
            self._refuse_when_stopping()
            return self._back(name)

    def _back(self, name: str) -> dict[str, Any]:
        self._follow_manager(name)
        with self._lock:
            current, standby = self._active(name), self._standbys.get(name)
        if standby is None or standby.child is None or not standby.child.alive:
            raise ConfigError(f"no earlier instance of {name!r} stands by: there is nothing to go back to")
        try:
            self._client.swap(name, standby.instance_id or "")
        except BaseException:
            if not self._made_active(name, standby):
                raise
        with self._lock:
            self.children[self.children.index(current)] = standby
            self._standbys[name] = current
        self._echo(f"{name}: back to {standby.instance_id}; {current.instance_id} stands by")
        return {"active": standby.instance_id, "standby": current.instance_id}

    def _follow_manager(self, name: str, active: Collection[str] | None = None) -> None:
        """Take the manager's word (``active``: the instance ids it has active, else asked now)
        on which of ``name``'s two instances is active: a swap made without ``caruso up`` (the
        admin's page, ``caruso swap NAME INSTANCE_ID``) may have made the standby active."""
        with self._lock:
            standby = self._standbys.get(name)
        if standby is None:
            return
        if active is None:
            active = [row["instance_id"] for row in self._client.lookup(name)]
        with self._lock:
            current = self._active(name)
            if standby.instance_id not in active or current.instance_id in active:
                return
            self.children[self.children.index(current)] = standby
            self._standbys[name] = current
        self._echo(f"{name}: {standby.instance_id} is active (swapped without caruso up); "
                   f"{current.instance_id} stands by")

    def _active(self, name: str) -> Supervised:
        for supervised in self.children:
            if supervised.name == name:
                return supervised
        raise ConfigError(f"this deployment runs no service {name!r} (it runs: "
                          f"{', '.join(c.name for c in self.children if c.name) or 'none'})")

    def _retire(self, supervised: Supervised) -> None:
        self._leave_registry(supervised)
        if supervised.child is not None:
            supervised.child.stop(STOP_GRACE)

    def _start(self, supervised: Supervised, standby: bool = False) -> None:
        supervised.ended = False
        standby = standby or (supervised.entry is not None and supervised.entry.standby)
        supervised.child = Child([*supervised.arguments, *(["--standby"] if standby else [])], supervised.environment,
                                 stdin_text=None if supervised.config is None else json.dumps(supervised.config),
                                 echo=lambda line: self._echo(f"[{supervised.label}] {line}"))

    def _await_ready(self, supervised: Supervised) -> None:
        assert supervised.child is not None
        try:
            supervised.child.wait_ready(READY_TIMEOUT, give_up=self._stop.is_set)
        except ConfigError:
            said = [line for line in supervised.child.output if line.startswith("error: ")]
            raise ConfigError(f"{supervised.label} did not start" + (f" ({said[-1]})" if said else
                                                                  "; its output is above")) from None

    def _restart_crashed(self) -> None:
        now = time.monotonic()
        for supervised in self.children:
            assert supervised.child is not None
            if supervised.restart_at is not None:
                if now >= supervised.restart_at:
                    supervised.restart_at = None
                    standby = self._served_elsewhere(supervised)
                    self._echo(f"restarting {supervised.label}" + (" as a standby: another instance of "
                                                                   f"{supervised.name} is active" if standby else ""))
                    self._start(supervised, standby=standby)
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

    def _served_elsewhere(self, supervised: Supervised) -> bool:
        """Whether another instance of the service's name is active (a failover moved it while
        this one hung or was cut off): a restart then stands by instead of becoming a second
        active instance. An unreachable manager says no (the restart then fails to register)."""
        if supervised.name is None:
            return False
        try:
            return bool(self._client.lookup(supervised.name))
        except CarusoError:
            return False

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

    def _check_registrations(self) -> bool:
        """Follow swaps made without `caruso up`; kill and restart a service whose process lives
        but whose lease lapsed (it hangs). Skipped while a swap is under way (it would be seen
        half made): False then."""
        if not self._swapping.acquire(blocking=False):
            return False
        try:
            self._follow_registrations()
        finally:
            self._swapping.release()
        return True

    def _follow_registrations(self) -> None:
        try:
            registrations = {s["instance_id"]: s for s in self._client.services()}
        except CarusoError:
            return
        active = {instance for instance, row in registrations.items() if row.get("state") == "active"}
        for name in list(self._standbys):
            self._follow_manager(name, active)
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
        """Stop every child, after a swap under way (refused from now on) is done."""
        self._swapping.acquire(timeout=READY_TIMEOUT + STOP_GRACE)     # kept: no swap starts after it
        with self._lock:
            stopping = [*self._standbys.values(), *reversed(self.children)]
        for supervised in stopping:
            child = supervised.child
            if child is None or not child.alive:
                continue
            if child.stop(STOP_GRACE) == -signal.SIGKILL:
                self._echo(f"{supervised.label} did not stop within {STOP_GRACE:g}s; killed it")
        self._echo("caruso is down")
