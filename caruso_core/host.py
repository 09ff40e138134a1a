"""The service host: one service instance in one Pyro5 daemon, registered and renewed.

Lifecycle of a host (``caruso serve``):

1. build the instance (``cls(**config)``, plus ``context=`` its
   :class:`~caruso_core.context.HostContext` if it takes one) and call its ``start()``;
2. serve it behind a :class:`~caruso_core.gate.Gate` (object id = service name) and a
   control object for the manager (object id ``caruso.host``, guarded by a token only
   the manager knows);
3. an active instance (not ``standby``/``replace``) runs its ``cold_start()``, then
   registers and opens its gate; a standby registers as one; with
   ``replace`` ask the manager to swap this instance in (it imports the state of the
   one it replaces, or cold-starts if there is none) and retire the one it replaces;
4. renew the lease every ``lease / 3`` seconds; re-register under the same id if the
   manager lost the registration (e.g. a manager restarted from an older database);
5. on SIGTERM/SIGINT, or when the manager retires it: unregister, refuse new calls
   (clients move to another instance), let in-flight calls finish, call ``stop()``,
   close the daemon; a host retired by a swap first keeps refusing for a short grace
   (``retire_grace``) so that connected clients learn of the move from the refusal.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from typing import Any, Callable

import Pyro5.api

from caruso_core import credentials, remoting, signals
from caruso_core.client import Client
from caruso_core.context import HostContext, construct
from caruso_core.contract import ServiceSpec, exposed_methods, spec_of
from caruso_core.errors import (CallTimedOut, CarusoError, ConfigError, ManagerUnreachable, NotAuthorized,
                                ServiceError, one_line)
from caruso_core.gate import HOLDING, OPEN, REFUSING, Gate

log = logging.getLogger("caruso.host")

DEFAULT_DRAIN_TIMEOUT = 30.0
DEFAULT_RETIRE_GRACE = 2.0
HOLD_MARGIN = 15.0
RENEW_TIMEOUT_FLOOR = 2.0


def endpoint(instance: Any, gate: Gate, label: str) -> Any:
    """The Pyro5 object exposing ``instance``'s public methods, each call passing ``gate``."""
    namespace: dict[str, Callable[..., Any]] = {}
    for name in exposed_methods(type(instance)):
        namespace[name] = _forwarder(name)
    cls = Pyro5.api.expose(type(f"{type(instance).__name__}Endpoint", (_Endpoint,), namespace))
    return cls(instance, gate, label)


class _Endpoint:
    def __init__(self, instance: Any, gate: Gate, label: str) -> None:
        self._instance = instance
        self._gate = gate
        self._label = label

    def _run(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return getattr(self._instance, name)(*args, **kwargs)
        except CarusoError:
            raise
        except Exception as error:
            if type(error).__module__ == "builtins":
                raise
            log.exception("%s.%s failed", self._label, name)
            raise ServiceError(f"{self._label}.{name} failed: {type(error).__name__}: {error}") from None


def _forwarder(name: str) -> Callable[..., Any]:
    def forward(self: _Endpoint, *args: Any, **kwargs: Any) -> Any:
        return self._gate.call(self._run, name, args, kwargs)

    forward.__name__ = name
    return forward


@Pyro5.api.expose
class HostControl:
    """What the manager may ask of a host; every call carries the host's control token."""

    def __init__(self, host: "ServiceHost") -> None:
        self._host = host

    def _check(self, token: str) -> None:
        if not credentials.same(token, self._host.control_token):
            raise NotAuthorized("wrong control token for this host")

    def hold(self, token: str, timeout: float) -> dict[str, Any]:
        """Hold new calls, wait for in-flight ones, return the exported state.

        If neither ``resume`` nor ``release`` follows within ``timeout`` plus a margin
        (the manager died mid-swap), the host asks the manager how the swap ended.
        """
        self._check(token)
        self._host.gate.hold(timeout)
        self._host.watch_hold(timeout + HOLD_MARGIN)
        export = getattr(self._host.instance, "export_state", None)
        if export is None:
            return {"stateful": False, "state": None}
        try:
            return {"stateful": True, "state": export()}
        except Exception as error:
            self._host.resume()
            raise ServiceError(f"export_state failed: {type(error).__name__}: {error}") from None

    def resume(self, token: str) -> None:
        """Undo ``hold`` after a swap that did not happen."""
        self._check(token)
        self._host.resume()

    def activate(self, token: str, transfer: dict[str, Any] | None, timeout: float) -> None:
        """Take over: import the transferred state, or ``cold_start()`` if none was transferred;
        then hold calls until :meth:`serve` (the manager recorded the swap). A failure leaves
        the gate refusing (the swap fails). If ``serve`` does not follow within ``timeout``
        plus a margin (the manager died mid-swap), the host asks the manager how the swap
        ended. An instance whose gate is open is the active one already: nothing happens."""
        self._check(token)
        if self._host.gate.state == OPEN:
            return
        importer = getattr(self._host.instance, "import_state", None)
        imports = bool(transfer and transfer.get("stateful") and importer is not None)
        try:
            if imports:
                importer(transfer["state"])
            else:
                self._host.cold_start()
        except Exception as error:
            step = "import_state" if imports else "cold_start"
            raise ServiceError(f"{step} failed: {type(error).__name__}: {error}") from None
        self._host.gate.hold(timeout)
        self._host.watch_hold(timeout + HOLD_MARGIN, taking_over=True)

    def serve(self, token: str) -> None:
        """The manager recorded this instance as the active one: open the gate (after
        :meth:`activate`; nothing happens if the hold was settled already)."""
        self._check(token)
        if self._host.gate.state == HOLDING:
            self._host.gate.open()

    def release(self, token: str, retire: bool) -> None:
        """Refuse calls from now on (clients move on), then ``deactivate()`` the instance;
        with ``retire``, shut the host down."""
        self._check(token)
        self._host.deactivate()
        if retire:
            self._host.retire_soon(unregister=False)

    def health(self, token: str) -> dict[str, Any]:
        self._check(token)
        return self._host.health()


class ServiceHost:
    """Hosts one instance; see the module's lifecycle.

    ``operator_secret`` (default: the deployment's, when this process may read it)
    authorizes ``replace``; ``credential`` (default: ``CARUSO_GRANT``, else the operator
    secret) makes the registration trusted (see :mod:`caruso_core.manager`).
    """

    def __init__(self, cls: type, config: dict[str, Any] | None = None, *,
                 name: str | None = None, version: str | None = None,
                 properties: dict[str, Any] | None = None, manager: str | None = None,
                 host: str | None = None, port: int = 0, standby: bool = False,
                 replace: bool = False, operator_secret: str | None = None,
                 credential: str | None = None, drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
                 retire_grace: float = DEFAULT_RETIRE_GRACE) -> None:
        base = spec_of(cls)
        self.spec: ServiceSpec = base.evolve(name=name, version=version,
                                             properties={**base.properties, **(properties or {})})
        exposed_methods(cls)
        operator_secret = operator_secret or credentials.operator_secret()
        self._client = Client(remoting.manager_uri(manager), operator_secret=operator_secret)
        self._credential = credential or os.environ.get("CARUSO_GRANT") or operator_secret
        self.gate = Gate(REFUSING if standby or replace else HOLDING, label=self.spec.name)
        self.context = HostContext(Client(remoting.manager_uri(manager)), self.spec.name,
                                   logging.getLogger(f"caruso.{self.spec.name}"), self.gate.draining,
                                   standby=standby or replace)
        self.instance = construct(cls, config or {}, self.context)
        self.control_token = secrets.token_hex(16)
        self.instance_id: str | None = None
        self.uri: str | None = None
        self._bind = (host, port)
        self._standby = standby
        self._replace = replace
        self._drain_timeout = drain_timeout
        self._retire_grace = retire_grace
        self._lease_token = ""
        self._registry = threading.Lock()       # a renewal's re-register vs. the retiring unregister
        self._retiring = threading.RLock()      # an RLock: a signal handler may enter it again
        self._stopping = threading.Event()
        self._daemon: remoting.Daemon | None = None
        self._stopped = threading.Event()
        self._holds = 0

    # -- running ---------------------------------------------------------------------------

    def run(self, on_ready: Callable[["ServiceHost"], None] | None = None) -> None:
        """Start, register (and cold-start, if active) and serve until retired; install signal
        handlers if on the main thread. A failing ``start()`` or ``cold_start()`` fails the run,
        and the host leaves the registry."""
        try:
            self._daemon = remoting.Daemon(*self._bind)
        except OSError as error:
            host, port = self._bind
            raise ConfigError(f"{self.spec.name} cannot listen at {remoting.bind_address(host)}:{port} "
                              f"({error.strerror or one_line(error)}): give it another port or host") from None
        start = getattr(self.instance, "start", None)
        if start is not None:
            try:
                start()
            except Exception as error:
                self._close_daemon()
                if isinstance(error, CarusoError):
                    raise
                log.debug("%s: start() failed", self.spec.name, exc_info=True)
                raise ConfigError(f"{self.spec.name} cannot start: {one_line(error)}") from None
        self.uri = str(self._daemon.register(endpoint(self.instance, self.gate, self.spec.name),
                                             self.spec.name))
        self._control_uri = str(self._daemon.register(HostControl(self), remoting.HOST_OBJECT_ID))
        loop = threading.Thread(target=self._daemon.requestLoop, name="caruso-daemon",
                                kwargs={"loopCondition": lambda: not self._stopped.is_set()})
        loop.start()
        try:
            active = not (self._standby or self._replace)
            if active:
                self.cold_start()        # before registering: nothing can reach it meanwhile
            self._register(standby=not active)
            if self._replace:
                self._client.manager_call("swap", self.spec.name, self.instance_id, True,
                                          self._client.operator_secret)
            elif active:
                self.gate.open()
        except BaseException:
            self._abandon()
            loop.join()
            self._close_daemon()
            raise
        signals.on_stop(lambda: self.retire_soon(unregister=True))
        threading.Thread(target=self._renew, name="caruso-renew", daemon=True).start()
        if on_ready is not None:
            on_ready(self)
        while not self._stopped.wait(0.5):
            pass
        loop.join()
        self._close_daemon()

    def retire_soon(self, unregister: bool) -> None:
        """Begin the graceful end in a thread of its own (safe from signal handlers); once,
        though a signal and the manager's release come together."""
        with self._retiring:
            if self._stopping.is_set():
                return
            self._stopping.set()
        threading.Thread(target=self._retire, args=(unregister,), name="caruso-retire").start()

    def halt(self) -> None:
        """Stop serving at once, as if the process had died: no unregistering, no drain, no
        ``stop()``; the registration expires with its lease (tests of crashes use it)."""
        self._stopping.set()
        self._stopped.set()

    def cold_start(self) -> None:
        """Call the instance's ``cold_start()``, if it has one (it becomes active without a
        predecessor's state); a failure is logged and raised (it fails the start or swap)."""
        self._tell("cold_start", failing=True)

    def watch_hold(self, after: float, taking_over: bool = False) -> None:
        """Settle a hold nobody ended: open if the manager says this instance is active,
        refuse if it is not; while the manager cannot say, keep holding (never two actives).
        ``taking_over``: the hold follows this instance's activation, so opening does not
        ``resume()`` it (it has nothing of its own to resume)."""
        self._holds += 1
        hold = self._holds

        def unsettled() -> bool:
            return self.gate.state == HOLDING and hold == self._holds and not self._stopping.is_set()

        def settle() -> None:
            if self._stopping.wait(after):
                return
            while unsettled():
                try:
                    mine = [s for s in self._client.services() if s["instance_id"] == self.instance_id]
                except ManagerUnreachable:
                    self._stopping.wait(1.0)
                    continue
                if unsettled():
                    active = bool(mine) and mine[0]["state"] == "active"
                    if active and taking_over:
                        self.gate.open()
                    elif active:
                        self.resume()
                    else:
                        self.deactivate()
                    log.warning("%s: a swap was left unfinished; the manager says %s", self.instance_id,
                                "active" if active else "not active")

        threading.Thread(target=settle, name="caruso-hold-watch", daemon=True).start()

    def resume(self) -> None:
        """``resume()`` the instance after a hold that ended without a swap (its exported
        work stays its own; a failure is logged), then open the gate again."""
        self._tell("resume")
        self.gate.open()

    def deactivate(self) -> None:
        """Refuse calls from now on, then ``deactivate()`` the instance: its work moved to
        another instance (a failing ``deactivate()`` is logged)."""
        self.gate.refuse()
        self._tell("deactivate")

    def _tell(self, lifecycle: str, failing: bool = False) -> None:
        """Call the instance's optional lifecycle method ``lifecycle``; a failure is logged,
        and raised if ``failing``."""
        method = getattr(self.instance, lifecycle, None)
        if method is not None:
            try:
                method()
            except Exception:
                log.exception("%s: %s() failed", self.instance_id or self.spec.name, lifecycle)
                if failing:
                    raise

    def health(self) -> dict[str, Any]:
        answer = {"status": "ok"}
        check = getattr(self.instance, "health", None)
        if check is not None:
            try:
                answer = dict(check())
            except Exception as error:
                answer = {"status": "failing", "error": f"{type(error).__name__}: {error}"}
        answer.setdefault("status", "ok")
        answer.update(gate=self.gate.state, in_flight=self.gate.in_flight, pid=os.getpid())
        return answer

    # -- internals -------------------------------------------------------------------------

    def _register(self, standby: bool, client: Client | None = None) -> None:
        """Register with the manager (through ``client``, else the host's own)."""
        answer = (client or self._client).manager_call("register", self.spec.to_dict(), self.uri, self._control_uri,
                                           self.control_token, standby, self.instance_id, self._credential)
        self.instance_id = answer["instance_id"]
        self._lease_token = answer["lease_token"]
        self._lease = float(answer["lease"])

    def _leave_registry(self) -> None:
        with self._registry:
            if self.instance_id is not None:
                try:
                    self._client.manager_call("unregister", self.instance_id, self._lease_token)
                except CarusoError as error:
                    log.warning("could not unregister %s: %s", self.instance_id, error)

    def _abandon(self) -> None:
        """Undo a start that failed half-way: leave the registry, stop serving."""
        self._stopping.set()
        self.gate.refuse()
        self._leave_registry()
        self._stopped.set()

    def _renew(self) -> None:
        """Renew every ``lease / 3`` seconds. A renewal waits at most a lease (at least
        :data:`RENEW_TIMEOUT_FLOOR`) for its answer: a manager whose host went silent (cut
        off, not dead: its connection stays open) must not hold renewals up for the call
        timeout, so that the next manager of a group is asked in time; so does the register
        again after a renewal the manager refused (its lease expired), which holds up a retire
        meanwhile. A renewal refused because the host is leaving the registry (a retire began
        meanwhile) does not register it again."""
        renewals = Client(self._client.uri, call_timeout=max(self._lease, RENEW_TIMEOUT_FLOOR))
        while not self._stopping.wait(self._lease / 3):
            try:
                if not renewals.manager_call("renew", self.instance_id, self._lease_token):
                    with self._registry:
                        if self._stopping.is_set():
                            return
                        self._register(standby=self.gate.state == REFUSING, client=renewals)
                    log.warning("re-registered %s with the manager", self.instance_id)
            except (ManagerUnreachable, CallTimedOut) as error:
                log.warning("lease renewal failed: %s", error)

    def _retire(self, unregister: bool) -> None:
        if unregister:
            self._leave_registry()
        self.gate.refuse()
        if not self.gate.wait_idle(self._drain_timeout):
            log.warning("%s: calls still in flight after %ss; stopping anyway",
                        self.instance_id, self._drain_timeout)
        stop = getattr(self.instance, "stop", None)
        if stop is not None:
            try:
                stop()
            except Exception:
                log.exception("%s: stop() failed", self.instance_id)
        if not unregister:
            time.sleep(self._retire_grace)
        self._stopped.set()

    def _close_daemon(self) -> None:
        if self._daemon is not None:
            self._daemon.close()
            self._daemon = None
