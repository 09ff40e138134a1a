"""One event log on PostgreSQL written by several communication servers at once: the
monitor's feed delivers an event whose transaction committed after a higher id was read,
gives up the gap an insert rolled back leaves, and the monitor and reports show the
interactions of every server, each once."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from caruso_core import remoting
from caruso_core.testing import eventually
from caruso_core.testing.commands import caruso

from caruso_comm.events import ENTER, Event, metadata, table
from caruso_monitor.feed import Feed
from caruso_monitor.picture import Picture

QUEUES = [{"name": "sales", "offer_timeout": 60.0}]


@pytest.fixture
def log(postgres_database):
    engine = sa.create_engine(postgres_database)
    metadata.create_all(engine)
    yield postgres_database, engine
    engine.dispose()


def _enter(connection: sa.Connection, interaction: str, time: float) -> int:
    row = {"time": time, "event": ENTER, "interaction": interaction, "queue": "sales", "agent": None,
           "data": {"channel": "voice"}}
    return connection.execute(table.insert().returning(table.c.id), row).scalar_one()


def _committed(engine: sa.Engine, interaction: str, time: float) -> int:
    with engine.begin() as connection:
        return _enter(connection, interaction, time)


def test_events_committed_out_of_id_order_are_each_delivered_once(log):
    url, engine = log
    feed = Feed(url)
    delivered: list[Event] = []
    with engine.connect() as slow:
        held = slow.begin()
        late = _enter(slow, "a-1", 1000.0)                      # id taken, not committed
        early = _committed(engine, "b-1", 1001.0)               # a higher id committed first
        delivered += feed.read()
        assert [e.id for e in delivered] == [early] and early > late and feed.gaps == [late]
        held.commit()
        again = slow.begin()
        held_too = _enter(slow, "a-2", 1002.0)
        _committed(engine, "b-2", 1003.0)
        second = feed.read()
        assert [e.interaction for e in second] == ["a-1", "b-2"] and feed.gaps == [held_too]
        delivered += second
        again.commit()
    delivered += feed.read()
    assert feed.read() == [] and feed.gaps == []
    assert sorted(e.interaction for e in delivered) == ["a-1", "a-2", "b-1", "b-2"]
    assert len({e.id for e in delivered}) == 4
    picture = Picture()
    for event in delivered:
        picture.apply(event)
    assert picture.last_id == max(e.id for e in delivered)
    assert sorted(w["id"] for w in picture.snapshot(1010.0)["waiting"]) == ["a-1", "a-2", "b-1", "b-2"]
    feed.close()


def test_the_gap_of_a_rolled_back_insert_is_given_up_after_the_bound(log):
    url, engine = log
    feed = Feed(url, gap_wait=0.5)
    with engine.connect() as failing:
        with failing.begin() as transaction:
            lost = _enter(failing, "lost", 1000.0)
            kept = _committed(engine, "kept", 1001.0)
            transaction.rollback()
    assert [e.id for e in feed.read()] == [kept] and feed.gaps == [lost]
    eventually(lambda: (feed.read(), feed.gaps), lambda read: read == ([], []), limit=5.0,
               what="the rolled-back id given up")
    feed.close()


def test_at_most_max_gaps_ids_are_awaited_the_highest_ones(log):
    url, engine = log
    feed = Feed(url, max_gaps=2)
    with engine.connect() as failing:
        transaction = failing.begin()
        lost = [_enter(failing, f"lost-{n}", 1000.0) for n in range(3)]
        transaction.rollback()
    kept = _committed(engine, "kept", 1001.0)
    assert [e.id for e in feed.read()] == [kept]
    assert feed.gaps == lost[1:]
    feed.close()


def test_monitor_and_reports_show_the_interactions_of_two_servers_each_once(
        log, caruso_host, caruso_client, tmp_path):
    url, engine = log
    servers = [remoting.proxy(caruso_host("comm", config={"queues": QUEUES, "db": url}).uri) for _ in range(2)]
    caruso_host("monitor", config={"db": url, "poll": 0.1})
    monitor = caruso_client.get("caruso.monitor/1")
    for name, comm in zip("ab", servers):
        comm.login(f"agent-{name}")
        comm.arrive("sales", id=f"{name}-1")                     # offered to the agent there
        comm.accept(f"agent-{name}", f"{name}-1")
        comm.arrive("sales", id=f"{name}-2")
    for comm in servers:
        comm.flush()
    picture = eventually(monitor.picture, lambda p: len(p["waiting"]) == 2 and p["agent_counts"]["logged_in"] == 2)
    assert sorted(w["id"] for w in picture["waiting"]) == ["a-2", "b-2"]
    (sales,) = picture["queues"]
    assert (sales["waiting"], sales["connected"], sales["answered"]) == (2, 2, 2)
    done = caruso("report", "incoming-calls", "--db", url, "--period", "day", "--format", "csv")
    assert done.returncode == 0, done.stderr
    (day,) = list(csv.DictReader(io.StringIO(done.stdout)))
    with engine.connect() as connection:
        entered = connection.execute(sa.select(sa.func.count()).where(table.c.event == ENTER)).scalar_one()
    assert entered == 4 and int(day["offered"]) == 4 and int(day["answered"]) == 2


def test_a_late_answer_takes_its_place_in_time_in_the_service_level_window():
    picture = Picture(window=60.0)
    for event in (Event(990.0, ENTER, "a-1", "sales", id=1), Event(1090.0, ENTER, "b-1", "sales", id=2),
                  Event(1100.0, "connect", "b-1", "sales", "bob", {"wait": 10.0}, id=4),
                  Event(1000.0, "connect", "a-1", "sales", "ann", {"wait": 10.0}, id=3)):   # id 3 late
        picture.apply(event)
    (sales,) = picture.snapshot(1070.0)["queues"]
    assert sales["answered"] == 1 and picture.last_id == 4       # the answer at 1000 is out of the window
