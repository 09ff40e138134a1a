"""Leadership in a group of managers that share one PostgreSQL registry database.

Contract of :class:`Leadership` (one per manager of the group):

- A manager leads while it holds the session-level advisory lock :data:`LOCK_KEY`
  (``pg_try_advisory_lock``) on a connection of its own, and no longer: it checks that
  connection every ``interval`` (``lease / 4``) seconds, and every write of the leader
  (registrations through :meth:`writing`, events through :meth:`record`) runs on it, so
  a write after PostgreSQL let go of the lock fails with :class:`NotLeader` and the
  manager steps down at once (``on_follow``).
- A follower tries for the lock every ``interval``; one that lost it waits twice as long
  first, so that another manager takes over. Having it, the manager catches up with the
  recorded events, publishes its URI and calls ``on_lead`` (which loads the registry).
- The leader records every registry event in the table ``caruso_manager_events`` (the
  last :data:`EVENT_ROWS` are kept) and announces it with NOTIFY on
  :data:`CHANNEL` (payload: sequence, event, instance id; far below PostgreSQL's
  8000 bytes). Followers LISTEN and read the new rows (``on_events``), so their buffer of
  recent events is warm when they take over, and a leader continues the sequence.
- The group's ``epoch`` (the name of its sequence of event numbers) is made once, with
  its tables, and kept by every leader, so a watcher's cursor stays valid across leaders.
- :meth:`refusal` is the :class:`NotLeader` a follower answers with, naming the leader's
  URI as last published (read every ``interval``). ``tried`` is set once the first try
  for the lock is over (the manager leads and serves, or follows).
"""
from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from caruso_core import databases, registry
from caruso_core.errors import CarusoError, ConfigError, NotLeader, one_line

log = logging.getLogger("caruso.leadership")

LOCK_KEY = 0x636172_75736F      # "caruso" as a number: the group's advisory lock
SETUP_KEY = LOCK_KEY + 1        # held while a manager creates the tables
CHANNEL = "caruso_registry"
EVENT_ROWS = 2000
TRIM_EVERY = 100
_metadata = sa.MetaData()
_group = sa.Table(
    "caruso_manager_group", _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("epoch", sa.String(32), nullable=False),
    sa.Column("leader_uri", sa.String(300)),
    sa.Column("since", sa.Float),
)
_events = sa.Table(
    "caruso_manager_events", _metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("payload", sa.Text, nullable=False),
)

_HOLDING = sa.text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                   "AND pid = pg_backend_pid() AND classid::bigint = :high AND objid::bigint = :low "
                   "AND objsubid = 1)")


def is_group_database(url: str) -> bool:
    """Whether managers on the database at ``url`` form a group (PostgreSQL only)."""
    try:
        return sa.make_url(url).get_backend_name() == "postgresql"
    except sa.exc.ArgumentError:
        return False


class Leadership:
    """This manager's place in its group; see the module's contract."""

    def __init__(self, url: str, uri: str, lease: float) -> None:
        parsed = sa.make_url(url)
        if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
            raise ConfigError(f"{parsed.render_as_string(hide_password=True)}: a manager group needs the "
                              "psycopg driver (postgresql+psycopg://...)")
        self.uri = uri
        self.interval = max(lease / 4, 0.05)
        idle = max(round(self.interval), 1)
        # both ends give up on a silent peer within about idle + 3 s: the server then ends
        # the session of a lost leader (releasing the lock), the leader stops believing it leads.
        # Keepalives only probe an idle connection: data the server sent to a leader cut off
        # meanwhile (an answer, a notification) is retransmitted for many minutes unless its
        # tcp_user_timeout ends the session too
        self._engine = databases.engine(
            parsed.set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool,
            connect_args={"connect_timeout": max(int(lease), 2), "keepalives": 1, "keepalives_idle": idle,
                          "keepalives_interval": 1, "keepalives_count": 3,
                          "tcp_user_timeout": max(int(self.interval * 1000), 200),
                          "options": f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval=1 "
                                     f"-c tcp_keepalives_count=3 -c tcp_user_timeout={(idle + 3) * 1000}"})
        import psycopg      # an extra (caruso[postgresql]), imported once a group forms; the engine checked it
        self._database_errors: tuple[type[Exception], ...] = (sa.exc.DBAPIError, psycopg.Error)
        with databases.reading_existing(url):
            self.epoch = self._set_up()
        self._holder: sa.Connection | None = None       # tries for the lock; holds it while leading
        self._listener: Any = None                      # the connection that LISTENs while following
        self._leading = False
        self._leader_uri: str | None = None
        self._seen = 0                                  # last event sequence number known here
        self._rest_until = 0.0
        self._writing = threading.RLock()
        self._open = False                              # a write's transaction is open (in the thread holding _writing)
        self._stopped = threading.Event()
        self.tried = threading.Event()                  # set once the first try for the lock is over
        self._on_lead: Callable[[], None] = lambda: None
        self._on_follow: Callable[[], None] = lambda: None
        self._on_events: Callable[[list[dict[str, Any]]], None] = lambda events: None
        self._thread = threading.Thread(target=self._run, name="caruso-leadership", daemon=True)

    def start(self, on_lead: Callable[[], None], on_follow: Callable[[], None],
              on_events: Callable[[list[dict[str, Any]]], None]) -> None:
        """Compete for the lead from now on, telling the manager through the callbacks."""
        self._on_lead, self._on_follow, self._on_events = on_lead, on_follow, on_events
        self._thread.start()

    def close(self) -> None:
        """Stop competing; a leader lets go of the lock (closing its connection)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._writing:
            self._leading = False
            self._drop_holder()
        self._drop_listener()
        self._engine.dispose()

    def refusal(self) -> NotLeader:
        leader = self._leader_uri if self._leader_uri != self.uri else None
        where = f"the leader is at {leader}" if leader else "no leader is known yet"
        return NotLeader(f"the manager at {self.uri} does not lead its group; {where}", leader=leader)

    @contextlib.contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        """A transaction on the lock's connection for a write of the leader (within this
        thread's open one: the same); NotLeader when this manager does not lead, or when that
        connection failed (it steps down then)."""
        lost = False
        with self._writing:
            if self._open:
                yield self._holder
                return
            if not self._leading or self._holder is None:
                raise self.refusal()
            self._open = True
            try:
                with self._holder.begin():
                    yield self._holder
            except sa.exc.DBAPIError:
                if self._alive():
                    raise
                lost = True
            finally:
                self._open = False
        if lost:
            self._step_down("its connection to PostgreSQL failed during a write")
            raise self.refusal()

    def record(self, event: dict[str, Any]) -> None:
        """Persist a registry event (``seq`` its sequence number) and announce it; NotLeader
        when this manager cannot (it does not lead)."""
        seq = int(event["seq"])
        notice = json.dumps({"seq": seq, "event": event.get("event"), "instance_id": event.get("instance_id")})
        with self.writing() as connection:
            connection.execute(_events.insert().values(seq=seq, payload=json.dumps(event)))
            if seq % TRIM_EVERY == 0:
                connection.execute(_events.delete().where(_events.c.seq <= seq - EVENT_ROWS))
            connection.execute(sa.select(sa.func.pg_notify(CHANNEL, notice)))
        self._seen = seq

    # -- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                if self._leading:
                    self._stopped.wait(self.interval)
                    with self._writing:
                        alive = self._leading and self._alive()
                    if self._leading and not alive:
                        self._step_down("its connection to PostgreSQL failed")
                else:
                    self._follow()
            except Exception as error:          # the loop outlives any failure: PostgreSQL's, or a bug's
                if isinstance(error, self._database_errors):
                    log.warning("manager group at %s: %s", self.uri, one_line(getattr(error, "orig", None) or error))
                else:
                    log.exception("manager group at %s", self.uri)
                with self._writing:
                    if not self._leading:
                        self._drop_holder()
                self._drop_listener()
                self._stopped.wait(self.interval)

    def _follow(self) -> None:
        """Try for the lock; not having it, wait up to one interval for announced events and read them."""
        if self._listener is None:
            self._listener = self._engine.raw_connection()
            self._listener.driver_connection.autocommit = True
            self._listener.driver_connection.execute(f"LISTEN {CHANNEL}")
            self._catch_up()
        if time.monotonic() >= self._rest_until and self._take_lock():
            self._drop_listener()
            self._catch_up()            # the lock is ours: no other manager records events now
            with self._writing:
                self._leader_uri = self.uri
                self._leading = True
            log.warning("the manager at %s leads its group now", self.uri)
            try:
                self._on_lead()
            except (sa.exc.DBAPIError, CarusoError) as error:
                self._step_down(f"it could not load the registry: {one_line(error)}")
            self.tried.set()
            return
        self.tried.set()
        if list(self._listener.driver_connection.notifies(timeout=self.interval, stop_after=1)):
            self._catch_up()

    def _take_lock(self) -> bool:
        """Whether this manager got the lock now (then it is published as the leader); else
        the leader's published URI is read."""
        with self._writing:
            if self._holder is None:
                self._holder = self._engine.connect()
            got = bool(self._holder.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))).scalar())
            if got:
                self._holder.execute(_group.update().values(leader_uri=self.uri, since=time.time()))
            else:
                self._leader_uri = self._holder.execute(sa.select(_group.c.leader_uri)).scalar()
            self._holder.commit()
            return got

    def _catch_up(self) -> None:
        """Hand the manager the recorded events after the last one known here."""
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(_events.c.seq, _events.c.payload)
                                      .where(_events.c.seq > self._seen).order_by(_events.c.seq)).all()
        if rows:
            self._seen = rows[-1].seq
            self._on_events([json.loads(row.payload) for row in rows])

    def _step_down(self, why: str) -> None:
        with self._writing:
            if not self._leading:
                return
            self._leading = False
            self._drop_holder()
        self._seen = 0          # events it recorded in the failed transaction may never have been
        self._rest_until = time.monotonic() + 2 * self.interval
        log.warning("the manager at %s stopped leading its group: %s", self.uri, why)
        self._on_follow()

    def _alive(self) -> bool:
        """Whether the lock's connection still answers and its session holds the lock (a
        connection SQLAlchemy opened anew after a failure does not); caller holds ``_writing``."""
        if self._holder is None or self._holder.invalidated:
            return False
        try:
            held = self._holder.execute(_HOLDING, {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF}).scalar()
            self._holder.commit()
            return bool(held)
        except sa.exc.DBAPIError:
            return False

    def _drop_holder(self) -> None:
        holder, self._holder = self._holder, None
        if holder is not None:
            with contextlib.suppress(Exception):
                holder.invalidate()
                holder.close()

    def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()

    def _set_up(self) -> str:
        """Create the group's tables (and the registry's) once; the group's epoch."""
        from sqlalchemy.dialects import postgresql

        with self._engine.begin() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(SETUP_KEY)))
            _metadata.create_all(connection)
            registry.create_tables(connection)
            connection.execute(postgresql.insert(_group).values(id=1, epoch=secrets.token_hex(8))
                               .on_conflict_do_nothing())
            return connection.execute(sa.select(_group.c.epoch)).scalar_one()
