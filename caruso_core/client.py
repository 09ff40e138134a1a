"""Clients of the service manager and proxies to the services it knows.

Contract of :class:`ServiceProxy`:

- usable from any number of threads (each thread gets its own Pyro5 connection);
- resolves its service through the manager and caches the location;
- re-resolves when the instance moved (hot-swap) or cannot be reached, and then
  retries the call, but only a call that provably did not run: one the instance's
  gate refused (:class:`ServiceMoved`) or one whose connection could not be made;
- a connection lost while a call was under way raises :class:`CallInterrupted`:
  the call may have run, and only the caller can know whether repeating it is safe;
  a call not answered within the call timeout (``call_timeout``, else
  ``CARUSO_CALL_TIMEOUT``, else 120 s) raises :class:`CallTimedOut`, one of those;
- a connection is not used again once it has been idle for half the daemons' idle
  timeout (they close idle connections), so a call never meets a connection the daemon
  is closing.

Contract of :class:`Client` given several managers (a comma-separated list of URIs, see
:func:`caruso_core.remoting.manager_uri`): a manager call goes to the manager that
answered last; when that one refuses the connection, does not answer in time or is not
the leader of its group (:class:`NotLeader`), the call goes to the leader it names (if
in the list), then to the others in order, and the one that answers is remembered. When
none answers the call fails with the last error (a :class:`ManagerUnreachable`, of which
:class:`NotLeader` is one). A lookup or a listing waits at most the connect timeout
(``CARUSO_CONNECT_TIMEOUT``) for one manager's answer, an event poll that plus its poll
time: a leader whose host was cut off (its connection open, silent) does not hold them
for the call timeout. Service calls do not pass through the manager.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Iterator

import Pyro5.client
import Pyro5.errors

from caruso_core import credentials, remoting, wire
from caruso_core.deployment import manager_uri_here as deployment_manager_uri
from caruso_core.errors import (CallInterrupted, CallTimedOut, ManagerUnreachable, NoInstance,
                                NotLeader, ServiceMoved)

DEFAULT_TIMEOUT = 15.0
RETRY_PAUSE = 0.05
ANSWERED_AT_ONCE = ("lookup", "list")     # manager calls that read and answer at once


def connect(uri: str | None = None, *, timeout: float = DEFAULT_TIMEOUT, secret: str | None = None,
            operator_secret: str | None = None, call_timeout: float | None = None) -> "Client":
    """A client of the manager at ``uri`` (else ``CARUSO_MANAGER``, else the ``[manager] uri``
    of ``./caruso.toml``, else the default address): a command run in a deployment's folder
    talks to that deployment, as it proves that deployment's secret.

    ``timeout`` bounds how long a call waits for a service to become reachable again
    (e.g. while the manager restarts); ``call_timeout`` how long it waits for an answer
    once sent; ``secret`` is the deployment secret to prove (None: ``CARUSO_SECRET``,
    else the data folder's); ``operator_secret`` (None: ``CARUSO_OPERATOR_SECRET``, else the
    deployment's operator secret file, when readable; ``""``: none) authorizes operator
    actions such as swap.
    """
    if operator_secret is None:
        operator_secret = credentials.operator_secret()
    if uri is None and "CARUSO_MANAGER" not in os.environ:
        uri = deployment_manager_uri()
    return Client(remoting.manager_uri(uri), timeout=timeout, call_timeout=call_timeout, secret=secret,
                  operator_secret=operator_secret or None)


class _ThreadProxies(threading.local):
    """Pyro5 proxies of one thread, by URI (a Pyro5 proxy belongs to one thread), each
    with the time it was last used."""

    def __init__(self, call_timeout: float | None, secret: str | None) -> None:
        self.by_uri: dict[str, tuple[Pyro5.client.Proxy, list[float]]] = {}
        self.call_timeout = call_timeout
        self.secret = secret
        self.fresh_for = wire.Limits.from_environment().idle_seconds / 2

    def get(self, uri: str) -> Pyro5.client.Proxy:
        """The thread's proxy to ``uri``, holding no connection that idled too long."""
        now = time.monotonic()
        found = self.by_uri.get(uri)
        if found is None:
            found = self.by_uri[uri] = (remoting.proxy(uri, self.secret, self.call_timeout), [now])
        elif now - found[1][0] > self.fresh_for:
            found[0]._pyroRelease()
        found[1][0] = now
        return found[0]

    def drop(self, uri: str) -> None:
        found = self.by_uri.pop(uri, None)
        if found is not None:
            found[0]._pyroRelease()


class Client:
    """Talks to the service manager (or the leader of several); hands out :class:`ServiceProxy` objects."""

    def __init__(self, uri: str, *, timeout: float = DEFAULT_TIMEOUT, secret: str | None = None,
                 operator_secret: str | None = None, call_timeout: float | None = None) -> None:
        self.uri = uri
        self.uris = remoting.manager_uris(uri)
        self._answered = self.uris[0]
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.secret = secret
        self.operator_secret = operator_secret
        self._proxies = _ThreadProxies(call_timeout, secret)
        self._services: dict[str, ServiceProxy] = {}

    def manager_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a manager method at the manager that leads (see the module's contract); an
        unreachable manager is a :class:`ManagerUnreachable`."""
        waiting, tried = [self._answered, *self.uris], set()
        failure: Exception | None = None
        while waiting:
            uri = waiting.pop(0)
            if uri in tried:
                continue
            tried.add(uri)
            try:
                answer = self._call_at(uri, method, args, kwargs)
            except NotLeader as refusal:
                failure = refusal
                if refusal.details.get("leader") in self.uris:
                    waiting.insert(0, refusal.details["leader"])
            except (ManagerUnreachable, CallTimedOut) as error:
                failure = error
            else:
                self._answered = uri
                return answer
        assert failure is not None
        raise failure

    def _answer_within(self, method: str, args: tuple[Any, ...], usual: float) -> float:
        """Seconds one manager has to answer ``method`` (see the module's contract)."""
        if len(self.uris) < 2:
            return usual
        if method in ANSWERED_AT_ONCE:
            return min(usual, remoting.connect_timeout())
        if method == "events" and len(args) > 1:
            return min(usual, float(args[1]) + remoting.connect_timeout())
        return usual

    def _call_at(self, uri: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        proxy = self._proxies.get(uri)
        remoting.is_connected(proxy)  # drops a connection the manager closed (e.g. it restarted)
        usual = proxy._pyroTimeout
        proxy._pyroTimeout = self._answer_within(method, args, usual)
        try:
            return proxy._pyroInvoke(method, args, kwargs)
        except Pyro5.errors.TimeoutError:
            self._proxies.drop(uri)
            raise CallTimedOut(f"the service manager at {uri} did not answer {method}() "
                               f"within {proxy._pyroTimeout:g}s") from None
        except Pyro5.errors.CommunicationError as error:
            self._proxies.drop(uri)
            if "CARUSO_SECRET" in str(error):
                raise ManagerUnreachable(f"the service manager at {uri} refused the connection: "
                                         "set CARUSO_SECRET to the deployment's secret") from None
            raise ManagerUnreachable(
                f"no service manager answers at {uri} ({error}); start one with 'caruso manager' "
                "or 'caruso up', or point CARUSO_MANAGER at the right address") from None
        finally:
            proxy._pyroTimeout = usual

    def get(self, name_or_interface: str, **properties: Any) -> "ServiceProxy":
        """A proxy to the best live instance of a name, or of an interface ('id/MAJOR').

        Keyword arguments filter on the services' properties (equality).
        """
        return ServiceProxy(self, name_or_interface, properties)

    def service(self, name_or_interface: str) -> "ServiceProxy":
        """This client's proxy to a name or an interface, made once (:meth:`get` makes a new one):
        a proxy keeps where its instance is and asks the manager only when that instance moved
        or failed, so a component holding it keeps calling while the manager is down."""
        found = self._services.get(name_or_interface)
        return found if found is not None else self._services.setdefault(name_or_interface,
                                                                         self.get(name_or_interface))

    def lookup(self, name_or_interface: str, **properties: Any) -> list[dict[str, Any]]:
        """Live active instances, best first (ranking, then registration order)."""
        return self.manager_call("lookup", name_or_interface, properties)

    def services(self) -> list[dict[str, Any]]:
        """Every registration the manager holds, active, standby or unhealthy."""
        return self.manager_call("list")

    def swap(self, name: str, instance_id: str, operator_secret: str | None = None) -> dict[str, Any]:
        """Make ``instance_id`` the active instance of ``name``; the old one becomes a standby.
        ``operator_secret`` (default: the client's) authorizes it."""
        return self.manager_call("swap", name, instance_id, False, operator_secret or self.operator_secret)

    def unregister(self, instance_id: str) -> None:
        """Remove another's registration (operator) and retire its host."""
        self.manager_call("unregister", instance_id, None, self.operator_secret)

    def health(self) -> list[dict[str, Any]]:
        """Every registration with its host's answer to ``health()``."""
        return self.manager_call("health")

    def watch(self, since: int | None = None, poll: float = 5.0,
              unreachable: Callable[[ManagerUnreachable | None], None] | None = None) -> Iterator[dict[str, Any]]:
        """Yield manager events (registered, modified, unregistering, expired) as they happen.

        ``since`` is an event sequence number; None starts with events after now. The
        watch outlives manager restarts: it waits for the manager to come back and then
        yields every event of its new run; ``unreachable`` hears the error once when the
        manager stops answering, and None once it answers again.
        """
        cursor, epoch, lost = since, None, False
        while True:
            try:
                batch = self.manager_call("events", cursor, poll, epoch)
            except ManagerUnreachable as error:
                if not lost and unreachable is not None:
                    unreachable(error)
                lost = True
                time.sleep(RETRY_PAUSE * 10)
                continue
            if lost and unreachable is not None:
                unreachable(None)
            lost = False
            cursor, epoch = batch["next"], batch["epoch"]
            yield from batch["events"]


class ServiceProxy:
    """A thread-safe, self-healing proxy to one service; see the module's contract."""

    def __init__(self, client: Client, key: str, properties: dict[str, Any]) -> None:
        self._client = client
        self._key = key
        self._properties = properties
        self._lock = threading.Lock()
        self._record: dict[str, Any] | None = None
        self._unreachable: dict[str, float] = {}
        self._proxies = _ThreadProxies(client.call_timeout, client.secret)

    def __repr__(self) -> str:
        where = self._record["uri"] if self._record else "unresolved"
        return f"<ServiceProxy {self._key} {self._properties or ''} at {where}>"

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        bound = self.__dict__[method] = _Method(self, method)
        return bound

    @property
    def instance(self) -> dict[str, Any]:
        """The registration the proxy currently uses (resolving it if needed)."""
        return self._resolve(time.monotonic() + self._client.timeout)

    def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        deadline = time.monotonic() + self._client.timeout
        while True:
            record = self._record or self._resolve(deadline)
            uri = record["uri"]
            pyro = self._proxies.get(uri)
            try:
                remoting.connected(pyro)
            except Pyro5.errors.CommunicationError:     # nothing was sent: the call did not run
                self._proxies.drop(uri)
                self._forget(record, unreachable=True)
            else:
                try:
                    return pyro._pyroInvoke(method, args, kwargs)
                except ServiceMoved:
                    self._proxies.drop(uri)
                    self._forget(record, unreachable=False)
                except Pyro5.errors.TimeoutError:
                    self._proxies.drop(uri)
                    raise CallTimedOut(f"{self._key} at {uri} did not answer {method}() within "
                                       f"{pyro._pyroTimeout:g}s: it may or may not have run") from None
                except Pyro5.errors.CommunicationError as error:
                    self._proxies.drop(uri)
                    self._forget(record, unreachable=True)
                    raise CallInterrupted(f"connection to {self._key} at {uri} was lost during "
                                          f"{method}(): it may or may not have run ({error})") from None
            if time.monotonic() > deadline:
                raise NoInstance(f"no reachable instance of {self._describe()} within "
                                 f"{self._client.timeout:g}s (manager {self._client.uri})")
            time.sleep(RETRY_PAUSE)

    def _describe(self) -> str:
        filters = "".join(f", {k}={v!r}" for k, v in sorted(self._properties.items()))
        return f"{self._key!r}{filters}"

    def _resolve(self, deadline: float) -> dict[str, Any]:
        record = self._record
        if record is not None:
            return record
        with self._lock:
            if self._record is not None:
                return self._record
            while True:
                try:
                    candidates = self._client.lookup(self._key, **self._properties)
                except ManagerUnreachable:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(RETRY_PAUSE * 4)
                    continue
                if not candidates:
                    raise NoInstance(f"no instance of {self._describe()} is registered "
                                     f"(manager {self._client.uri}); 'caruso services' lists what is registered")
                now = time.monotonic()
                self._unreachable = {u: t for u, t in self._unreachable.items() if t > now}
                reachable = [c for c in candidates if c["uri"] not in self._unreachable]
                if reachable:
                    self._record = reachable[0]
                    return self._record
                if now > deadline:
                    raise NoInstance(f"no reachable instance of {self._describe()}: tried "
                                     + ", ".join(c["instance_id"] for c in candidates))
                time.sleep(RETRY_PAUSE)

    def _forget(self, record: dict[str, Any], unreachable: bool) -> None:
        with self._lock:
            if unreachable:
                self._unreachable[record["uri"]] = time.monotonic() + 1.0
            if self._record is record:
                self._record = None


class _Method:
    """A bound remote method of a :class:`ServiceProxy`."""

    __slots__ = ("_proxy", "_name")

    def __init__(self, proxy: ServiceProxy, name: str) -> None:
        self._proxy = proxy
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._proxy._call(self._name, args, kwargs)
