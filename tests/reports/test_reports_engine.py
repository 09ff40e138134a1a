"""The engine's counting rules on a scripted day of the real ACD: transfers, wrap-up, short
abandons, overflow to voicemail, channels, campaigns, periods; on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import time

import attrs
import pytest
import sqlalchemy as sa

from caruso_core.errors import ConfigError
from caruso_comm.acd import ACD
from caruso_comm.eventlog import EventLog
from caruso_comm.model import Queue
from caruso_comm.timers import Timers, VirtualClock
from caruso_reports import definition, engine
from caruso_reports.periods import Period

from reports_support import agents_logged_in, caruso

START = dt.datetime(2026, 11, 30, 23, 58, tzinfo=dt.timezone.utc).timestamp()   # a Monday, 2 min to December


def _day(url: str) -> None:
    """Write the scripted day to the event log at ``url``."""
    clock = VirtualClock(START)
    timers = Timers(clock)
    log = EventLog(url)
    acd = ACD(timers, log)

    def at(offset: float) -> None:
        while (due := timers.next_time()) is not None and due <= START + offset:
            clock.now = due
            timers.run_due(due)
        clock.now = START + offset

    acd.add_queue(Queue("sales", wrap_up=10))
    acd.add_queue(Queue("support"))
    acd.add_queue(Queue("chat", channel="chat", max_wait=30, overflow="voicemail"))
    acd.login("ann")
    at(5), acd.arrive("sales", id="c1")                # offered to ann
    at(8), acd.accept("ann", "c1")                     # wait 3
    at(10), acd.arrive("sales", id="c2")
    at(12), acd.arrive("sales", id="c3")
    at(14), acd.abandon("c3")                          # a short abandon: 2 s
    at(40), acd.abandon("c2")                          # 30 s
    at(68), acd.transfer("ann", "c1", queue="support") # talk 60; ann wraps up 10 s for sales
    acd.login("bob")                                   # offered c1 in support at once
    at(70), acd.accept("bob", "c1")
    at(100), acd.complete("bob", "c1", "solved")       # talk 30, support has no wrap-up
    acd.arrive("chat", id="ch1", channel="chat")       # nobody takes chats: voicemail after 30 s
    at(150), acd.record("dial", interaction="o1", queue="sales", campaign="spring", number="+1", attempt=1)
    acd.arrive("sales", id="o1", direction="outbound") # offered to ann or bob
    at(155)
    agent = next(a for a in ("ann", "bob") if "o1" in acd.agents[a].offers)
    acd.accept(agent, "o1")
    at(215), acd.complete(agent, "o1", "sale")         # talk 60, then 10 s wrap-up
    at(300), acd.logout("ann"), acd.logout("bob")
    log.close()


def _same(got: dict, expected: dict) -> bool:
    """Equal keys and values, numbers to rounding."""
    return got.keys() == expected.keys() and all(
        got[k] == expected[k] if expected[k] is None or isinstance(expected[k], str)
        else got[k] == pytest.approx(expected[k]) for k in expected)


def _rows(url: str, name: str, **changes) -> list[dict]:
    checked = attrs.evolve(definition.load(name), **changes)
    log = sa.create_engine(url)
    try:
        return list(engine.compute(log, definition.check(checked, "test")).rows)
    finally:
        log.dispose()


@pytest.fixture(scope="module")
def sqlite_day(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('scripted') / 'comm.db'}"
    _day(url)
    return url


CALLS = {
    "sales": {"offered": 3, "answered": 1, "abandoned": 2, "short_abandoned": 1, "transferred": 1,
              "overflowed": 0, "service_level_answered": 1.0, "service_level": 1 / 2, "asa": 3.0,
              "aht": None, "avg_talk": 60.0, "longest_wait": 30.0},   # the campaign's o1 is not incoming
    "support": {"offered": 0, "answered": 0, "abandoned": 0, "short_abandoned": 0, "transferred": 0,
                "overflowed": 0, "service_level_answered": None, "service_level": None, "asa": None,
                "aht": 30.0, "avg_talk": 30.0, "longest_wait": 2.0},
    "chat": {"offered": 1, "answered": 0, "abandoned": 0, "short_abandoned": 0, "transferred": 0,
             "overflowed": 1, "service_level_answered": None, "service_level": 0.0, "asa": None,
             "aht": None, "avg_talk": None, "longest_wait": None},
}


def test_incoming_calls_by_queue_follow_the_counting_rules(sqlite_day):
    rows = _rows(sqlite_day, "incoming-calls", dimensions=("queue",))
    by_queue = {row.pop("queue"): row for row in rows}
    assert by_queue.keys() == CALLS.keys()
    for queue, expected in CALLS.items():
        assert _same(by_queue[queue], expected), queue


def test_the_service_level_of_each_queue_is_measured_against_its_own_target(tmp_path):
    """``service_level_target = "queue"`` (the standard report's): each queue's ``sl_target``
    as a server last announced it, as the wallboard measures it (two servers share the log,
    each announcing its own queues); a number: one for all."""
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    clock = VirtualClock(START)
    log = EventLog(url)
    acd = ACD(Timers(clock), log)
    acd.add_queue(Queue("sales", sl_target=60))
    acd.add_queue(Queue("support", sl_target=60))
    acd.add_queue(Queue("chat", channel="chat"))                  # the default target, 20 s
    acd.announce_queues()
    other = ACD(Timers(clock), log)                               # another server's queue, and sales again
    other.add_queue(Queue("sales", sl_target=10))
    other.add_queue(Queue("billing", sl_target=40))
    other.announce_queues()
    acd.login("ann", capacity={"voice": 3, "chat": 1})
    for queue, channel in (("sales", "voice"), ("support", "voice"), ("chat", "chat")):
        acd.arrive(queue, id=queue, channel=channel)
    clock.now = START + 30                                        # each waited 30 s
    for queue in ("sales", "support", "chat"):
        acd.accept("ann", queue)
    log.close()
    each = {row["queue"]: row["service_level"] for row in _rows(url, "incoming-calls", dimensions=("queue",))}
    assert each == {"sales": 0.0, "support": 1.0, "chat": 0.0}
    one = {row["queue"]: row["service_level"]
           for row in _rows(url, "incoming-calls", dimensions=("queue",), service_level_target=45.0)}
    assert one == {"sales": 1.0, "support": 1.0, "chat": 1.0}
    with pytest.raises(ConfigError) as refused:
        definition.from_mapping({"measures": ["service_level"], "service_level_target": "queues"}, "x", "x.toml")
    assert str(refused.value) == ('x.toml: service_level_target is a number of seconds or "queue" '
                                  "(each queue's own), not 'queues'")


def test_periods_split_at_midnight_and_the_month_and_sum_to_the_totals(sqlite_day):
    months = _rows(sqlite_day, "voicemail", period="month")
    assert [(r["period"], r["queue"], r["offered"], r["voicemails"]) for r in months] == [
        ("2026-11-01 00:00", "chat", 1, 0), ("2026-11-01 00:00", "sales", 3, 0),
        ("2026-11-01 00:00", "support", 0, 0), ("2026-12-01 00:00", "chat", 0, 1), ("2026-12-01 00:00", "sales", 1, 0)]
    quarters = _rows(sqlite_day, "incoming-calls", period="15min", dimensions=("period",))
    assert [r["period"] for r in quarters] == ["2026-11-30 23:45", "2026-12-01 00:00"]
    assert sum(r["offered"] for r in quarters) == 4 and sum(r["abandoned"] for r in quarters) == 2
    weeks = _rows(sqlite_day, "incoming-calls", period="week", dimensions=("period",))
    assert [r["period"] for r in weeks] == ["2026-11-30 00:00"]


def test_channel_campaign_and_agent_dimensions(sqlite_day):
    channels = _rows(sqlite_day, "incoming-calls", dimensions=("channel",))
    assert [(r["channel"], r["offered"], r["overflowed"]) for r in channels] == [("chat", 1, 1), ("voice", 3, 0)]
    directions = _rows(sqlite_day, "incoming-calls", dimensions=("direction",), filters={})
    assert [(r["direction"], r["offered"], r["answered"]) for r in directions] == [("inbound", 4, 1), ("outbound", 1, 1)]
    (outbound,) = _rows(sqlite_day, "incoming-calls", dimensions=("queue",), filters={"direction": ("outbound",)})
    assert (outbound["queue"], outbound["offered"], outbound["answered"], outbound["aht"]) == ("sales", 1, 1, 70.0)
    (spring,) = _rows(sqlite_day, "campaign-results", dimensions=("campaign",))
    assert (spring["campaign"], spring["dialed"], spring["answered"], spring["completed"],
            spring["talk_time"], spring["aht"]) == ("spring", 1, 1, 1, 60.0, 70.0)
    assert (spring["converted"], spring["conversion"]) == (1, 1.0)          # o1 completed as a "sale"
    (upgrades,) = _rows(sqlite_day, "campaign-results", dimensions=("campaign",), conversions=("upgrade",))
    assert (upgrades["converted"], upgrades["conversion"]) == (0, 0.0)
    agents = {r["agent"]: r for r in _rows(sqlite_day, "incoming-calls", dimensions=("agent",))}
    assert agents["ann"]["transferred"] == 1 and agents["bob"]["avg_talk"] == pytest.approx(30.0)
    only_support = _rows(sqlite_day, "incoming-calls", dimensions=("queue",),
                         filters={"queue": ("support",)})
    assert [r["queue"] for r in only_support] == ["support"]


def test_agent_times_by_quarter_hour_add_up_and_clip_to_the_range(sqlite_day):
    rows = _rows(sqlite_day, "agent-availability", period="15min")
    for row in rows:
        parts = row["available"] + row["ringing"] + row["busy"] + row["wrap_up"] + row["break"]
        assert parts == pytest.approx(row["logged_in"])
    by_agent = {}
    for row in rows:
        by_agent[row["agent"]] = by_agent.get(row["agent"], 0.0) + row["logged_in"]
    assert by_agent == pytest.approx({"ann": 300.0, "bob": 232.0})
    assert {r["period"] for r in rows} == {"2026-11-30 23:45", "2026-12-01 00:00"}
    midnight = START + 120
    clipped = _rows(sqlite_day, "agent-availability", dimensions=("agent",), start=midnight, end=midnight + 60)
    assert [(r["agent"], r["logged_in"]) for r in clipped] == [("ann", 60.0), ("bob", 60.0)]
    everyone = _rows(sqlite_day, "agent-availability", dimensions=("agent",))
    ann = _rows(sqlite_day, "agent-availability", dimensions=("agent",), filters={"agent": ("ann",)})
    assert ann == [everyone[0]] and everyone[0]["agent"] == "ann"
    assert everyone[0]["wrap_up"] + everyone[1]["wrap_up"] == pytest.approx(20.0)
    assert everyone[0]["busy"] + everyone[1]["busy"] == pytest.approx(60 + 30 + 60)


def test_a_report_without_an_end_counts_an_agent_still_logged_in_up_to_now(tmp_path):
    """ann logged in two hours ago and has had no event since; bob's logout an hour ago is the
    log's last event. caruso report --db without --to counts ann's two hours, not one."""
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    login = time.time() - 7200
    clock, log, acd = agents_logged_in(url, login, "ann", "bob")
    clock.now = login + 3600
    acd.logout("bob")
    log.close()
    before = time.time()
    done = caruso("report", "agent-availability", "--db", url, "--format", "csv")
    after = time.time()
    assert done.returncode == 0, done.stderr
    logged_in: dict[str, float] = {}
    for row in csv.DictReader(io.StringIO(done.stdout)):    # two rows for ann when midnight came between
        logged_in[row["agent"]] = logged_in.get(row["agent"], 0.0) + float(row["logged_in"])
    assert logged_in["bob"] == pytest.approx(3600, abs=0.01)
    assert before - login - 0.01 <= logged_in["ann"] <= after - login + 0.01
    rows = _rows(url, "agent-availability", dimensions=("agent",), start=login - 60)    # a start, no end
    assert before - login - 0.01 <= rows[0]["available"] <= time.time() - login + 0.01


def test_periods_and_dates_in_a_time_zone(sqlite_day):
    berlin = _rows(sqlite_day, "voicemail", period="month", timezone="Europe/Berlin", dimensions=("period",))
    assert [(r["period"], r["offered"], r["voicemails"]) for r in berlin] == [("2026-12-01 00:00", 5, 1)]
    kolkata = _rows(sqlite_day, "incoming-calls", period="hour", timezone="Asia/Kolkata", dimensions=("period",))
    assert [(r["period"], r["offered"], r["abandoned"]) for r in kolkata] == [("2026-12-01 05:00", 4, 2)]
    december = definition.parse_time("2026-12-01", "from", timezone="Europe/Berlin")
    assert december == START - 58 * 60                 # Berlin midnight is 23:00 UTC
    later = _rows(sqlite_day, "incoming-calls", dimensions=(), start=december, timezone="Europe/Berlin")
    assert later[0]["offered"] == 4
    utc = _rows(sqlite_day, "incoming-calls", dimensions=(), start=definition.parse_time("2026-12-01", "from"),
                filters={})
    assert utc[0]["offered"] == 1                      # only o1 arrives after midnight UTC
    agents = _rows(sqlite_day, "agent-availability", period="day", timezone="Asia/Kolkata")
    assert {r["period"] for r in agents} == {"2026-12-01 00:00"}
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Base'"):
        definition.from_toml('measures = ["offered"]\ntimezone = "Mars/Base"\n', "x", "x.toml")


def test_period_arithmetic():
    monday = dt.datetime(2026, 12, 28, tzinfo=dt.timezone.utc).timestamp()
    week = Period("week")
    assert week.start(monday + 6 * 86400 + 3600) == monday and week.following(monday) == monday + 7 * 86400
    month = Period("month")
    december = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc).timestamp()
    assert month.following(december) == dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    assert month.label(month.start(december + 40 * 86400)) == "2027-01-01 00:00"
    autumn = dt.datetime(2026, 10, 25, 12, tzinfo=dt.timezone.utc).timestamp()    # clocks go back in Berlin
    day = Period("day", "Europe/Berlin")
    assert day.following(day.start(autumn)) - day.start(autumn) == 25 * 3600
    assert day.label(day.start(autumn)) == "2026-10-25 00:00"
    india = Period("hour", "Asia/Kolkata")
    assert india.start(autumn) == autumn - 1800 and india.following(india.start(autumn)) == autumn + 1800


def test_postgresql_gives_the_same_reports(sqlite_day, postgres_database):
    _day(postgres_database)
    for name, changes in [("incoming-calls", {"dimensions": ("period", "queue"), "period": "month"}),
                          ("incoming-calls", {"dimensions": ("channel",)}),
                          ("campaign-results", {}), ("voicemail", {"period": "week"}),
                          ("agent-availability", {"period": "15min"}),
                          ("incoming-calls", {"period": "day", "timezone": "Europe/Berlin"})]:
        expected = _rows(sqlite_day, name, **changes)
        got = _rows(postgres_database, name, **changes)
        assert len(got) == len(expected) and expected
        for mine, theirs in zip(got, expected):
            assert _same(mine, theirs), name
