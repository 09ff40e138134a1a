"""Several managers on one PostgreSQL registry: one leads, the others refuse and take over."""
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from caruso_core import InvalidInput, ManagerUnreachable, NotLeader, connect
from caruso_core.leadership import LOCK_KEY, Leadership
from caruso_core.testing import eventually
from caruso_core.testing.commands import caruso
from caruso_core.testing.plugin import Hosts
from caruso_core.testing.processes import ManagerProcess, child_environment, free_port

LEASE = 2.0
TAKEOVER_BOUND = LEASE / 4          # a follower tries for the lock every lease / 4 (caruso_core/leadership.py)
MARGIN = 10.0                       # a loaded machine schedules late; the bound is what must hold eventually
CALLS, THREADS = 5000, 4
GHOST = {"name": "ghost", "interface": "test.ghost/1", "version": "1.0.0"}


class Group:
    """Managers of one PostgreSQL database, as ``caruso manager`` processes, and hosts given all of them."""

    def __init__(self, tmp_path: Path, database: str, count: int) -> None:
        data = tmp_path / "data"
        env = child_environment([str(Path(__file__).parent)], data, None)
        self.managers = [ManagerProcess(tmp_path, LEASE, env, db=database) for _ in range(count)]
        self.uri = ",".join(manager.uri for manager in self.managers)
        self.hosts = Hosts(self.uri, data, Path(__file__).parent)
        self.database = database

    def answering(self) -> list[ManagerProcess]:
        """The managers that answer a call now (the leader, or none while one takes over)."""
        found = []
        for manager in self.managers:
            try:
                connect(manager.uri, timeout=1).services()
            except ManagerUnreachable:
                continue
            found.append(manager)
        return found

    def leader(self, limit: float = MARGIN) -> ManagerProcess:
        return eventually(self.answering, lambda found: len(found) == 1, limit=limit, what="one leader")[0]

    def close(self) -> None:
        self.hosts.stop_all()
        for manager in self.managers:
            manager.stop()


@pytest.fixture
def group(tmp_path, postgres_database, monkeypatch):
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    for key in ("CARUSO_SECRET", "CARUSO_OPERATOR_SECRET", "CARUSO_GRANT"):
        monkeypatch.delenv(key, raising=False)
    made = Group(tmp_path, postgres_database, 2)
    monkeypatch.setenv("CARUSO_MANAGER", made.uri)
    try:
        yield made
    finally:
        made.close()


def register_ghost(manager_uri):
    """Register an instance nobody hosts at the manager at ``manager_uri`` alone."""
    return connect(manager_uri, timeout=1).manager_call(
        "register", GHOST, "PYRO:ghost@127.0.0.1:9", "PYRO:caruso.host@127.0.0.1:9", "token")


def refused(call, *args):
    """The NotLeader that ``call(*args)`` raises."""
    with pytest.raises(NotLeader) as refusal:
        call(*args)
    return refusal.value


def the_other(group, manager):
    return next(m for m in group.managers if m is not manager)


def test_one_manager_leads_and_a_follower_refuses_naming_the_leader(group):
    leader = group.leader()
    follower = the_other(group, leader)
    host = group.hosts.start("sample_services:Echo")
    refusal = eventually(lambda: refused(register_ghost, follower.uri), lambda error: error.details["leader"],
                         what="the follower naming the leader")
    assert refusal.details["leader"] == leader.uri
    assert leader.uri in str(refusal)
    with pytest.raises(InvalidInput, match="instance_id .at most 100 characters. is too long"):
        connect(group.uri).manager_call("register", GHOST, "PYRO:ghost@127.0.0.1:9",
                                        "PYRO:caruso.host@127.0.0.1:9", "token", False, "x" * 101)
    assert [s["instance_id"] for s in connect(group.uri).services()] == [host.instance_id]
    assert group.answering() == [leader]


def test_killing_the_leader_loses_no_registration_no_event_and_no_service_call(group):
    leader = group.leader()
    follower = the_other(group, leader)
    client = connect(group.uri, timeout=30)
    start = client.manager_call("events", None, 0)
    seen, stop = [], threading.Event()

    def watch():
        cursor, epoch = start["next"], start["epoch"]
        while not stop.is_set():
            try:
                batch = client.manager_call("events", cursor, 0.5, epoch)
            except ManagerUnreachable:
                time.sleep(0.05)
                continue
            assert batch["epoch"] == epoch
            seen.extend(event["seq"] for event in batch["events"])
            cursor = batch["next"]

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    host = group.hosts.start("sample_services:Counter", process=True)
    counter = client.get("counter")
    counter.increment()
    eventually(lambda: len(seen) >= 1, what="the watcher hears the registration")

    failures, done = [], []
    barrier = threading.Barrier(THREADS + 1)

    def call_many():
        barrier.wait()
        for _ in range(CALLS // THREADS):
            try:
                counter.increment()
            except Exception as error:        # counted, then asserted to be none
                failures.append(repr(error))
            done.append(1)

    callers = [threading.Thread(target=call_many) for _ in range(THREADS)]
    for caller in callers:
        caller.start()
    barrier.wait()
    eventually(lambda: len(done) >= CALLS // 4, what="a quarter of the calls")
    leader.kill()
    killed_at, done_at_kill = time.monotonic(), len(done)
    assert group.leader(limit=TAKEOVER_BOUND + MARGIN) is follower
    took = time.monotonic() - killed_at
    for caller in callers:
        caller.join(120)

    assert done_at_kill < CALLS
    assert failures == []
    assert len(done) == CALLS
    assert counter.increment()["value"] == CALLS + 2
    assert took < TAKEOVER_BOUND + MARGIN
    kept = eventually(client.services, lambda rows: rows and all(r["healthy"] for r in rows),
                      what="the registration, renewed with the new leader")
    assert [r["instance_id"] for r in kept] == [host.instance_id]
    echo = group.hosts.start("sample_services:Echo")        # events after the takeover
    echo.stop()
    eventually(lambda: len(seen) >= 3, what="the watcher hears the events after the takeover")
    stop.set()
    watcher.join(5)
    assert seen == list(range(seen[0], seen[0] + len(seen))), seen


def test_a_leader_whose_lock_connection_dies_stops_leading_and_the_other_takes_over(group):
    leader = group.leader()
    follower = the_other(group, leader)
    host = group.hosts.start("sample_services:Echo")
    assert terminate_lock_holder(group.database) == [True]
    with pytest.raises(NotLeader):            # its next write, if not its watchdog, finds the lock gone
        register_ghost(leader.uri)
    assert group.leader() is follower
    assert [s["instance_id"] for s in connect(group.uri).services()] == [host.instance_id]
    assert terminate_lock_holder(group.database) == [True]
    eventually(group.answering, lambda found: found == [leader], what="the first leading again")
    assert [s["instance_id"] for s in connect(group.uri).services()] == [host.instance_id]


def terminate_lock_holder(database):
    """Terminate the PostgreSQL backend that holds the group's lock; what pg_terminate_backend said."""
    engine = sa.create_engine(database)
    try:
        with engine.begin() as connection:
            return connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"),
                {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF}).scalars().all()
    finally:
        engine.dispose()


def test_a_follower_hears_each_event_whole_even_beyond_what_notify_carries(postgres_database):
    leaders, heard = [], {"first": [], "second": []}

    def join(label):
        group = Leadership(postgres_database, f"PYRO:caruso.manager@127.0.0.1:{free_port()}", 0.4)
        group.start(on_lead=lambda: leaders.append(label), on_follow=lambda: leaders.append(f"{label} follows"),
                    on_events=heard[label].extend)
        return group

    first = join("first")
    eventually(lambda: leaders == ["first"], what="the first to lead")
    second = join("second")
    try:
        eventually(lambda: second.refusal().details["leader"] == first.uri, what="the follower knowing the leader")
        big = {"seq": 1, "event": "registered", "instance_id": "big-1", "properties": {"note": "x" * 20000}}
        first.record(big)
        eventually(lambda: heard["second"] == [big], what="the follower hearing the event")
        assert heard["first"] == []
        first.close()
        eventually(lambda: leaders == ["first", "second"], what="the follower taking over")
        second.record({"seq": 2, "event": "expired", "instance_id": "big-1"})
        with pytest.raises(NotLeader):
            first.record({"seq": 3, "event": "expired", "instance_id": "big-1"})
    finally:
        second.close()


def test_the_server_ends_a_silent_managers_session_even_with_data_in_flight(postgres_database):
    # keepalives probe only an idle connection: an answer or a notification sent to a manager
    # whose host was cut off is retransmitted for many minutes, its lock held, unless the
    # server's own user timeout (about the keepalives' time: idle 1 s + 3 probes) ends it
    group = Leadership(postgres_database, f"PYRO:caruso.manager@127.0.0.1:{free_port()}", 2.0)
    try:
        with group._engine.connect() as session:
            shown = {name: session.exec_driver_sql(f"SHOW {name}").scalar()
                     for name in ("tcp_user_timeout", "tcp_keepalives_idle", "tcp_keepalives_count")}
    finally:
        group.close()
    assert shown == {"tcp_user_timeout": "4000", "tcp_keepalives_idle": "1", "tcp_keepalives_count": "3"}   # ms, s


@pytest.mark.parametrize("arguments, said", [
    (["--uri", "127.0.0.1:7717,127.0.0.1:7718"], "a manager listens at one address"),
    (["--db", "postgresql+asyncpg://caruso@127.0.0.1/registry"], "a manager group needs the psycopg driver"),
    (["--db", "postgresql+psycopg://caruso@127.0.0.1:{port}/registry"], "cannot read it"),
])
def test_bad_manager_group_settings_are_one_line(arguments, said, tmp_path, monkeypatch):
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    port = free_port()
    arguments = [a.format(port=port) for a in arguments]
    if "--uri" not in arguments:
        arguments += ["--uri", f"127.0.0.1:{free_port()}"]
    ran = caruso("manager", *arguments)
    assert ran.exit_code != 0
    assert said in ran.stderr and len(ran.stderr.strip().splitlines()) == 1, ran.stderr


@pytest.mark.parametrize("given", ["127.0.0.1:7717,", "127.0.0.1:7717,nowhere", "127.0.0.1:1," * 400])
def test_a_bad_list_of_managers_is_one_line_naming_it(given):
    ran = caruso("services", "--manager", given)
    assert ran.exit_code != 0
    assert "--manager" in ran.stderr and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
