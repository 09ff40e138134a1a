"""The service manager: who is registered, who is active, who is alive.

Contract (every method is a Pyro5 call on the object ``caruso.manager``):

- ``register`` gives an instance id and a lease token; the host renews with it every
  ``lease / 3`` seconds. An instance not renewed for ``lease`` seconds is marked
  unhealthy and leaves lookups; not renewed for ``2 * lease`` it is removed and
  watchers get ``expired``. The reaper looks every ``lease / 4`` seconds, so removal
  happens at most ``2.25 * lease`` after the last renewal (default lease: 10 s).
- ``register`` is open to every holder of the deployment secret for a name that has no
  active instance, with a ranking not above the best active instance of its interface.
  Registering a standby, a second active instance of a name, or outranking the active
  instance of an interface needs the operator secret, or the grant of that name (see
  :mod:`caruso_core.credentials`); such a registration is *trusted*. Without an operator
  secret every registration is trusted.
- ``lookup`` returns live active instances: trusted ones first, then higher ``ranking``
  property, then registration order. Standby and unhealthy instances are listed, never
  looked up.
- Only trusted registrations persist over a restart of the manager; the hosts of the
  others register again at their next renewal, under the rules above.
- ``swap`` makes a registered instance the active one of its name: it holds the old
  instance, moves its exported state to the new one, flips both atomically (persisted),
  then lets the old one refuse the held calls so that clients retry them on the new.
- Operator actions (swap, unregistering another's instance) need the operator secret
  when the manager has one.
- **Failover**: when an active instance stops renewing (its lease passed) and its name
  has a healthy standby, the manager makes the best standby active (``activate`` without
  a transfer: it cold-starts from what it stored, so work since its last checkpoint is
  lost) and the failed one a standby; clients re-resolve to the new one. Failover
  happens at most ``1.25 * lease`` after the last renewal, plus the standby's cold start.
  A failed instance that comes back is told to stand down (``release``), whether it
  renews its old registration or registers again under its old id: a name never gets
  two active instances from a failover.
- ``events`` is a long poll over the events registered, modified, unregistering, expired.
- **Several managers** (a PostgreSQL ``db`` only; see :mod:`caruso_core.leadership`):
  managers sharing one database form a group of which one leads. Only the leader
  answers; the others answer every call with :class:`NotLeader` naming the leader. A
  manager that takes the lead loads the registry as a restarted manager does (every
  persisted registration with a fresh lease) and continues the event sequence of the
  group (one epoch), so a watcher's ``events`` carry on without a gap or a repeat: a
  change and its events are written in one transaction. A leader that loses its lock
  stops answering at once. With any other database a manager
  is alone and leads from the start.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import secrets
import threading
import time
from typing import Any, Iterator

import Pyro5.api
import Pyro5.errors

from caruso_core import credentials, remoting, signals
from caruso_core.leadership import Leadership, is_group_database
from caruso_core.contract import ServiceSpec
from caruso_core.deployment import default_sqlite_url
from caruso_core.errors import CarusoError, Conflict, InvalidInput, NotAuthorized, NotFound, NotLeader, SwapFailed
from caruso_core.registry import ACTIVE, STANDBY, Registration, RegistryStore, overlong, ranking_of

log = logging.getLogger("caruso.manager")

DEFAULT_LEASE = 10.0
DEFAULT_DRAIN_TIMEOUT = 30.0
EVENT_BUFFER = 2000
CONTROL_TIMEOUT = 5.0
START_WAIT = 30.0           # for a manager of a group: its first try for the lead

REGISTERED, MODIFIED, UNREGISTERING, EXPIRED = "registered", "modified", "unregistering", "expired"


@Pyro5.api.behavior(instance_mode="single")
class ServiceManager:
    """The registry of running service instances; see the module's contract.

    Only the methods marked ``@Pyro5.api.expose`` are reachable over the wire. With a
    ``group`` the manager serves only while it leads (its store writes through
    ``group.writing``).
    """

    def __init__(self, store: RegistryStore, *, lease: float = DEFAULT_LEASE,
                 operator_secret: str | None = None,
                 drain_timeout: float = DEFAULT_DRAIN_TIMEOUT, group: Leadership | None = None) -> None:
        self._store = store
        self._lease = lease
        self._operator_secret = operator_secret
        self._drain_timeout = drain_timeout
        self._lock = threading.Condition()
        self._swap_lock = threading.Lock()
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=EVENT_BUFFER)
        self._sequence = 0
        self._epoch = secrets.token_hex(8) if group is None else group.epoch
        self._stopped = threading.Event()
        self._group = group
        self._serving = group is None
        self._registrations: dict[str, Registration] = {}
        self._next = 1
        self._failing_over: set[str] = set()        # names whose failover runs
        self._stood_down: set[str] = set()          # ids a failover replaced, to tell when they come back
        if group is None:
            self._load()
        self._reaper = threading.Thread(target=self._reap, name="caruso-reaper", daemon=True)
        self._reaper.start()
        if group is not None:
            group.start(on_lead=self._lead, on_follow=self._follow, on_events=self._heard)

    # -- hosts -----------------------------------------------------------------------------

    @Pyro5.api.expose
    def register(self, spec: dict[str, Any], uri: str, control_uri: str, control_token: str,
                 standby: bool = False, instance_id: str | None = None,
                 credential: str | None = None) -> dict[str, Any]:
        """Register an instance; returns ``{"instance_id", "lease_token", "lease"}``.

        ``instance_id`` re-attaches a host under the id it had, if that id is free.
        ``credential`` (the operator secret or the name's grant) makes it trusted.
        """
        self._check_leading()
        checked = ServiceSpec(**spec)
        trusted = self._trusts(checked.name, credential)
        with self._lock:
            came_back = instance_id in self._stood_down and not standby
            if came_back:                               # replaced by a failover meanwhile: a standby now
                standby = True
                self._stood_down.discard(instance_id)
            elif not trusted:
                self._check_untrusted(checked, standby)
            if instance_id is None or instance_id in self._registrations:
                instance_id = f"{checked.name}-{self._next}"
            registration = Registration(
                instance_id=instance_id, name=checked.name, interface=checked.interface,
                version=checked.version, properties=dict(checked.properties), uri=str(uri),
                control_uri=str(control_uri), state=STANDBY if standby else ACTIVE,
                sequence=self._next, lease_token=secrets.token_hex(16), control_token=control_token,
                trusted=trusted, expires=time.monotonic() + self._lease)
            if (field := overlong(registration)) is not None:
                raise InvalidInput(f"register: {field} is too long")
            self._next += 1
            with self._recorded():
                self._store.save(registration)
                self._registrations[instance_id] = registration
                self._emit(REGISTERED, registration)
        if came_back:
            self._stand_down(registration)
        return {"instance_id": instance_id, "lease_token": registration.lease_token, "lease": self._lease}

    @Pyro5.api.expose
    def renew(self, instance_id: str, lease_token: str) -> bool:
        """Extend a lease; False when the manager does not know the instance (register again)."""
        self._check_leading()
        with self._lock:
            registration = self._registrations.get(instance_id)
            if registration is None or not credentials.same(lease_token, registration.lease_token):
                return False
            registration.expires = time.monotonic() + self._lease
            if not registration.healthy:
                registration.healthy = True
                self._emit(MODIFIED, registration)
            came_back = instance_id in self._stood_down
            self._stood_down.discard(instance_id)
        if came_back:
            self._stand_down(registration)
        return True

    @Pyro5.api.expose
    def unregister(self, instance_id: str, lease_token: str | None = None,
                   operator: str | None = None) -> None:
        """Remove a registration: its own host (lease token) or an operator, who also retires it."""
        self._check_leading()
        with self._lock:
            registration = self._registrations.get(instance_id)
            if registration is None:
                raise NotFound(f"no instance {instance_id!r} is registered")
            own = credentials.same(lease_token, registration.lease_token)
        if not own:
            self._authorize(operator, f"unregister {instance_id}")
            self._control(registration, "release", True, quiet=True)
        self._remove(registration, UNREGISTERING)

    # -- clients ---------------------------------------------------------------------------

    @Pyro5.api.expose
    def lookup(self, key: str, properties: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Live active instances of a name or interface matching the property filter, best first."""
        self._check_leading()
        with self._lock:
            found = [r for r in self._registrations.values()
                     if r.state == ACTIVE and r.healthy and r.matches(key, properties or {})]
        return [r.public() for r in sorted(found, key=lambda r: r.order)]

    @Pyro5.api.expose
    def list(self) -> list[dict[str, Any]]:
        """Every registration, by name then order."""
        self._check_leading()
        with self._lock:
            found = sorted(self._registrations.values(), key=lambda r: (r.name, r.order))
        return [r.public() for r in found]

    @Pyro5.api.expose
    def events(self, since: int | None = None, timeout: float = 5.0, epoch: str | None = None) -> dict[str, Any]:
        """Events after sequence ``since`` (None: after now), waiting up to ``timeout`` for one.

        Sequence numbers count from 1 in each run of the manager, named by ``epoch``: a
        watcher that passes the epoch of an earlier run gets every event of this run. The
        managers of a group share one epoch and one sequence.
        """
        self._check_leading()
        timeout = min(max(float(timeout), 0.0), 60.0)
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                cursor = 0
            else:
                cursor = self._sequence if since is None else int(since)
            self._lock.wait_for(lambda: self._sequence > cursor or self._stopped.is_set() or not self._serving,
                                timeout)
            self._check_leading()
            events = [e for e in self._events if e["seq"] > cursor]
            missed = bool(self._events) and self._events[0]["seq"] > cursor + 1
            return {"next": self._sequence, "events": events, "missed": missed, "epoch": self._epoch}

    @Pyro5.api.expose
    def health(self) -> list[dict[str, Any]]:
        """Every registration with its host's ``health()`` answer (or why there is none)."""
        self._check_leading()
        with self._lock:
            registrations = sorted(self._registrations.values(), key=lambda r: (r.name, r.order))
        report = []
        for registration in registrations:
            entry = registration.public()
            try:
                entry["health"] = self._control(registration, "health")
            except CarusoError as error:
                entry["health"] = {"status": "unreachable", "error": str(error)}
            report.append(entry)
        return report

    # -- operators -------------------------------------------------------------------------

    @Pyro5.api.expose
    def swap(self, name: str, instance_id: str, retire_old: bool = False,
             operator: str | None = None) -> dict[str, Any]:
        """Make ``instance_id`` the active instance of ``name`` in place of the best active one."""
        self._check_leading()
        self._authorize(operator, f"swap {name}")
        with self._swap_lock:
            with self._lock:
                target = self._registrations.get(instance_id)
                if target is None:
                    raise NotFound(f"no instance {instance_id!r} is registered; 'caruso services' lists them")
                if target.name != name:
                    raise InvalidInput(f"instance {instance_id!r} is a {target.name!r}, not a {name!r}")
                if target.state == ACTIVE:
                    raise Conflict(f"instance {instance_id!r} is an active {name!r} already: "
                                   "swap to a standby ('caruso services' lists them)")
                others = sorted((r for r in self._registrations.values() if r.name == name
                                 and r.state == ACTIVE and r is not target), key=lambda r: r.order)
            old = others[0] if others else None
            transfer = self._control(old, "hold", self._drain_timeout) if old else None
            try:
                self._control(target, "activate", transfer, self._drain_timeout)
            except CarusoError as error:
                if old:
                    self._control(old, "resume", quiet=True)
                raise SwapFailed(f"{instance_id} could not take over {name}: {error}; "
                                 f"{old.instance_id if old else 'nothing'} stays active") from None
            self._flip(target, old)
            if old:
                self._control(old, "release", retire_old, quiet=True)
                if retire_old:
                    self._remove(old, UNREGISTERING)
            return {"active": target.public(), "previous": old.public() if old else None}

    # -- life ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the reaper and release waiting watchers (registrations stay persisted); a
        leader lets go of the lead."""
        self._stopped.set()
        with self._lock:
            self._lock.notify_all()
        self._reaper.join(timeout=5)
        if self._group is not None:
            self._group.close()
        self._store.close()

    def _check_leading(self) -> None:
        if not self._serving:
            raise self._group.refusal() if self._group is not None else NotLeader("the manager is stopping")

    def _load(self) -> None:
        """Take the persisted registrations, each with a fresh lease (caller holds the lock,
        or nothing else runs yet); only trusted ones when there is an operator secret."""
        now = time.monotonic()
        self._registrations = {}
        for registration in self._store.load():
            if registration.trusted or self._operator_secret is None:
                registration.expires = now + self._lease
                self._registrations[registration.instance_id] = registration
            else:
                self._store.delete(registration.instance_id)
        self._next = self._store.next_sequence()

    def _lead(self) -> None:
        """This manager took the lead of its group: serve the registry as persisted."""
        with self._lock:
            self._failing_over.clear()
            self._stood_down.clear()
            self._load()
            self._serving = True
            self._lock.notify_all()

    def _follow(self) -> None:
        """This manager lost the lead: answer nothing more, forget the registry."""
        with self._lock:
            self._serving = False
            self._registrations = {}
            self._lock.notify_all()

    def _heard(self, events: list[dict[str, Any]]) -> None:
        """Events the group's leader recorded: keep them for watchers, should this manager lead."""
        with self._lock:
            for event in events:
                if event["seq"] > self._sequence:
                    self._events.append(event)
                    self._sequence = event["seq"]

    def _reap(self) -> None:
        interval = max(self._lease / 4, 0.05)
        while not self._stopped.wait(interval):
            if not self._serving:
                continue
            try:
                self._reap_once()
            except NotLeader:
                continue

    def _reap_once(self) -> None:
        """Mark, fail over and remove what stopped renewing (see the contract)."""
        now = time.monotonic()
        with self._lock:
            expired, failed = [], []
            for registration in self._registrations.values():
                if now > registration.expires + self._lease:
                    expired.append(registration)
                elif now > registration.expires and registration.healthy:
                    registration.healthy = False
                    self._emit(MODIFIED, registration)
                if (not registration.healthy and registration.state == ACTIVE
                        and registration.name not in self._failing_over and self._standbys(registration.name)):
                    self._failing_over.add(registration.name)
                    failed.append(registration)
        for registration in failed:
            threading.Thread(target=self._fail_over, args=(registration,), name="caruso-failover",
                             daemon=True).start()
        for registration in expired:
            self._remove(registration, EXPIRED)

    def _standbys(self, name: str) -> list[Registration]:
        """Healthy standbys of ``name``, best first (caller holds the lock)."""
        return sorted((r for r in self._registrations.values()
                       if r.name == name and r.state == STANDBY and r.healthy), key=lambda r: r.order)

    def _fail_over(self, failed: Registration) -> None:
        """Make the best standby that can start active in place of ``failed`` (see the contract)."""
        try:
            with self._swap_lock:
                with self._lock:
                    current = self._registrations.get(failed.instance_id)
                    if current is not None and (current.healthy or current.state != ACTIVE):
                        return                                # it came back, or a swap moved on
                    candidates = self._standbys(failed.name)
                for candidate in candidates:
                    try:
                        self._control(candidate, "activate", None, self._drain_timeout)
                    except CarusoError as error:
                        log.warning("failover of %s: %s cannot take over: %s", failed.name, candidate.instance_id,
                                    error)
                        continue
                    with self._lock:
                        self._stood_down.add(failed.instance_id)
                    self._flip(candidate, failed)
                    log.warning("failover: %s stopped renewing; %s is the active %s now",
                                failed.instance_id, candidate.instance_id, failed.name)
                    return
        finally:
            with self._lock:
                self._failing_over.discard(failed.name)

    def _flip(self, active: Registration, previous: Registration | None) -> None:
        """Record ``active`` as the active instance and ``previous`` (if still registered) as
        a standby, persisted and announced, then let ``active`` serve."""
        with self._lock:
            active.state = ACTIVE
            changed = [active]
            if previous is not None and previous.instance_id in self._registrations:
                previous.state = STANDBY
                changed.append(previous)
            with self._recorded():
                self._store.save(*changed)
                for registration in changed:
                    self._emit(MODIFIED, registration)
        self._control(active, "serve", quiet=True)

    def _stand_down(self, registration: Registration) -> None:
        """Tell a host whose instance a failover replaced to refuse calls and deactivate."""
        threading.Thread(target=self._control, args=(registration, "release", False), kwargs={"quiet": True},
                         name="caruso-stand-down", daemon=True).start()

    def _remove(self, registration: Registration, event: str) -> None:
        with self._lock:
            if self._registrations.pop(registration.instance_id, None) is None:
                return
            with self._recorded():
                self._store.delete(registration.instance_id)
                self._emit(event, registration)

    @contextlib.contextmanager
    def _recorded(self) -> Iterator[None]:
        """Around a change and its events (caller holds the lock): in a group, one transaction,
        whose failure takes its events back (no watcher saw them: the lock was held)."""
        if self._group is None:
            yield
            return
        sequence = self._sequence
        try:
            with self._group.writing():
                yield
        except BaseException:
            while self._events and self._events[-1]["seq"] > sequence:
                self._events.pop()
            self._sequence = min(self._sequence, sequence)
            raise

    def _emit(self, kind: str, registration: Registration) -> None:
        """Append an event (caller holds the lock; a group's leader records it first) and wake watchers."""
        event = {"seq": self._sequence + 1, "event": kind, "time": time.time(), **registration.public()}
        if self._group is not None:
            self._group.record(event)
        self._sequence = event["seq"]
        self._events.append(event)
        self._lock.notify_all()

    def _authorize(self, offered: str | None, action: str) -> None:
        if not self._is_operator(offered):
            raise NotAuthorized(f"{action} needs the operator secret: set CARUSO_OPERATOR_SECRET")

    def _is_operator(self, offered: str | None) -> bool:
        return self._operator_secret is None or credentials.same(offered, self._operator_secret)

    def _trusts(self, name: str, credential: str | None) -> bool:
        """Whether ``credential`` is the operator secret or the grant of ``name``."""
        return self._is_operator(credential) or (
            isinstance(credential, str) and credentials.is_grant(self._operator_secret, name, credential))

    def _check_untrusted(self, spec: ServiceSpec, standby: bool) -> None:
        """Refuse what only an operator (or the name's grant) may register; caller holds the lock."""
        needs = "needs the operator secret (CARUSO_OPERATOR_SECRET) or the grant of that name"
        if standby:
            raise NotAuthorized(f"registering a standby of {spec.name!r} {needs}")
        active = [r for r in self._registrations.values() if r.state == ACTIVE]
        same_name = [r for r in active if r.name == spec.name]
        if same_name:
            raise NotAuthorized(f"{spec.name!r} has an active instance ({same_name[0].instance_id}); "
                                f"registering another {needs}")
        ranking = ranking_of(spec.properties)
        best = max((r.ranking for r in active if r.interface == spec.interface), default=None)
        if best is not None and ranking > best:
            raise NotAuthorized(f"a ranking of {ranking} outranks the active {spec.interface} "
                                f"(ranking {best}); that {needs}")

    def _control(self, registration: Registration, method: str, *args: Any, quiet: bool = False) -> Any:
        """Call the host control object of an instance; failures become CarusoError (or nothing)."""
        try:
            with remoting.proxy(registration.control_uri) as control:
                # hold waits for calls in flight, activate for import_state or cold_start
                control._pyroTimeout = CONTROL_TIMEOUT + (self._drain_timeout if method in ("hold", "activate")
                                                          else 0)
                return getattr(control, method)(registration.control_token, *args)
        except CarusoError:
            if quiet:
                return None
            raise
        except Pyro5.errors.PyroError as error:
            if quiet:
                return None
            raise SwapFailed(f"cannot reach the host of {registration.instance_id} "
                             f"({registration.control_uri}): {error}") from None


def serve(uri: str | None = None, db: str | None = None, *, lease: float = DEFAULT_LEASE,
          secret: str | None = None, operator_secret: str | None = None, on_ready: Any = None,
          stop: threading.Event | None = None) -> None:
    """Run a manager at the host and port of ``uri`` until ``stop`` is set (or SIGTERM/SIGINT).

    ``db`` is a SQLAlchemy URL (default: ``manager.db`` in the data folder); on PostgreSQL
    the manager joins the group of managers of that database (it answers once it leads).
    ``secret`` is the deployment secret its daemon requires (None: the deployment's, ``""``: none).
    """
    given = remoting.manager_uri(uri)
    if "," in given:
        raise InvalidInput(f"a manager listens at one address, not {given!r}: give --uri the address of "
                           "this one (the list is for the hosts and clients of several managers)")
    address = Pyro5.api.URI(given)
    if address.object != remoting.MANAGER_OBJECT_ID:
        raise InvalidInput(f"the manager's object id is {remoting.MANAGER_OBJECT_ID!r}, not {address.object!r}")
    stop = stop or threading.Event()
    try:
        daemon = remoting.Daemon(address.host, address.port, secret=secret)
    except OSError as error:
        raise InvalidInput(f"cannot listen at {address.host}:{address.port} ({error.strerror}); "
                           "is a manager already running there?") from None
    with daemon:
        served = daemon.uriFor(remoting.MANAGER_OBJECT_ID)
        db = db or default_sqlite_url("manager.db")
        group = Leadership(db, str(served), lease) if is_group_database(db) else None
        store = RegistryStore(db, writing=group.writing if group is not None else None)
        manager = ServiceManager(store, lease=lease, operator_secret=operator_secret, group=group)
        daemon.register(manager, remoting.MANAGER_OBJECT_ID)
        if group is not None:       # ready once it leads or follows, so that a lone manager takes registrations
            group.tried.wait(START_WAIT)
        signals.on_stop(stop.set)
        if on_ready is not None:
            on_ready(str(served))
        daemon.requestLoop(loopCondition=lambda: not stop.is_set())
    manager.close()
