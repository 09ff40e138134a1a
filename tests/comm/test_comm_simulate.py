"""The simulator's features and the ``caruso simulate`` command."""
from __future__ import annotations

import datetime as dt
import json
import time

import sqlalchemy as sa

from caruso_comm.eventlog import EventLog
from caruso_comm.events import Event
from caruso_comm.simulator import Scenario, SimAgent, Simulation
from caruso_core.testing.commands import Ran, caruso

CALL = ["--agents", "5", "--calls-per-hour", "80", "--aht", "180", "--hours", "4", "--seed", "3"]


def _caruso(*arguments: str) -> Ran:
    return caruso(*arguments)


def test_simulate_prints_the_figures_and_writes_the_event_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    done = _caruso("simulate", *CALL, "--no-abandon", "--db", url, "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["abandoned"] == 0 and figures["offered"] == figures["answered"] > 200
    assert 0 < figures["service_level"] <= 1 and figures["asa_seconds"] >= 0
    assert 100 < figures["aht_seconds"] < 300 and 0.3 < figures["occupancy"] < 1
    counts = dict(sa.create_engine(url).connect().execute(sa.text(
        "select event, count(*) from comm_events group by event")).all())
    assert counts["enter"] == counts["connect"] == counts["complete"] == figures["offered"]


def _span(url: str) -> tuple[float, float]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(sa.text("select min(time), max(time) from comm_events")).one())
    finally:
        engine.dispose()


def _eight_utc(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(8), dt.timezone.utc).timestamp()


def test_simulate_writes_yesterday_or_the_named_day_and_refuses_hours_still_to_come(tmp_path):
    """Reports run now must not count calls that have not happened: the day written is
    yesterday by default, --date names another, and a window reaching past now is refused."""
    short = ["--agents", "2", "--calls-per-hour", "20", "--aht", "120", "--hours", "2", "--seed", "4"]
    before = dt.datetime.now(dt.timezone.utc).date()
    default = f"sqlite:///{tmp_path / 'default.db'}"
    done = _caruso("simulate", *short, "--db", default, "--json")
    after = dt.datetime.now(dt.timezone.utc).date()
    assert done.returncode == 0, done.stderr
    first, last = _span(default)
    assert first in {_eight_utc(before - dt.timedelta(days=1)), _eight_utc(after - dt.timedelta(days=1))}
    assert last < time.time()
    named = f"sqlite:///{tmp_path / 'named.db'}"
    done = _caruso("simulate", *short, "--date", "2026-03-02", "--db", named, "--json")
    assert done.returncode == 0, done.stderr
    assert _span(named)[0] == _eight_utc(dt.date(2026, 3, 2))
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    refused = _caruso("simulate", *short, "--hours", "17", "--date", today, "--db", f"sqlite:///{tmp_path / 'no.db'}")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert f"the simulated calls of {today} arrive until " in refused.stderr
    assert "name an earlier --date or give fewer --hours" in refused.stderr
    assert not (tmp_path / "no.db").exists()
    planned = _caruso("simulate", *short, "--hours", "40", "--json")      # nothing written: any hours
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["offered"] > 0
    bad = _caruso("simulate", *short, "--date", "yesterday")
    assert bad.returncode == 2 and "--date" in bad.stderr
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 100)
    refused = _caruso("simulate", *short, "--db", f"sqlite:///{notes}")
    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        f"error: --db sqlite:///{notes}: cannot open the event log database: "
        "DatabaseError: (sqlite3.DatabaseError) file is not a database"]
    assert notes.read_text() == "not a database\n" * 100


def test_simulate_with_patience_loses_callers_and_refuses_contradictory_options():
    figures = json.loads(_caruso("simulate", *CALL, "--patience", "30", "--json").stdout)
    assert figures["abandoned"] > 0
    assert figures["offered"] == figures["answered"] + figures["abandoned"]
    refused = _caruso("simulate", *CALL, "--patience", "30", "--no-abandon")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: give either --patience SECONDS or --no-abandon, not both"


def test_agents_work_their_shifts_only():
    events = []
    roster = (SimAgent("early", shifts=((0, 3600),)), SimAgent("late", shifts=((3600, 7200),)))
    Simulation(Scenario(agents=roster, calls_per_hour=30, aht=60, hours=2, seed=1),
               sink=events.append).run()
    connects = [e for e in events if e.event == "connect"]
    assert {e.agent for e in connects} == {"early", "late"}
    assert all(e.agent == ("early" if e.time < 3600 else "late") for e in connects
               if not 3500 < e.time < 3700)
    logins = [(e.agent, e.time) for e in events if e.event == "agent_status" and e.data["status"] == "available"]
    assert logins == [("early", 0), ("late", 3600)]


def test_empirical_handling_times_are_drawn_from_the_samples():
    events = []
    Simulation(Scenario(agents=3, calls_per_hour=40, aht=100, hours=3, handle_times=(30.0, 90.0),
                        seed=2), sink=events.append).run()
    talks = {round(e.data["talk"], 6) for e in events if e.event == "complete"}
    assert talks == {30.0, 90.0}


def test_event_log_appends_in_batches_and_reads_back_in_order(tmp_path):
    log = EventLog(f"sqlite:///{tmp_path / 'log.db'}", batch=100)
    simulation = Simulation(Scenario(agents=2, calls_per_hour=30, aht=60, hours=1, seed=5), sink=log)
    simulation.run()
    written = list(log.read())
    log.close()
    assert written and len(written) % 100 == 0
    assert [e.id for e in written] == sorted(e.id for e in written)
    reopened = EventLog(f"sqlite:///{tmp_path / 'log.db'}")
    events = list(reopened.read())
    assert 0 < len(events) - len(written) < 100 and events[0].event == "agent_status"
    assert sum(e.event == "enter" for e in events) == simulation.tally.offered
    assert list(reopened.read(after=len(events) - 1)) == [events[-1]] and events[-1].id == len(events)


def test_events_stay_buffered_while_the_database_refuses_them(tmp_path):
    path = tmp_path / "log.db"
    log = EventLog(f"sqlite:///{path}", batch=2)
    with log.engine.begin() as connection:
        connection.exec_driver_sql("create trigger refuse before insert on comm_events "
                                   "begin select raise(abort, 'read only'); end")
    for n in range(3):
        log.append(Event(float(n), "enter", f"i{n}"))
    with log.engine.begin() as connection:
        connection.exec_driver_sql("drop trigger refuse")
    log.close()
    assert [e.interaction for e in EventLog(f"sqlite:///{path}").read()] == ["i0", "i1", "i2"]


def test_the_event_log_database_is_private(tmp_path, permissive_umask):
    log = EventLog(f"sqlite:///{tmp_path / 'comm.db'}", batch=1)
    log.append(Event(0.0, "enter", "i0"))
    assert {path.name: path.stat().st_mode & 0o777 for path in tmp_path.iterdir()} == {
        "comm.db": 0o600, "comm.db-wal": 0o600, "comm.db-shm": 0o600}
    log.close()
    done = _caruso("simulate", *CALL, "--db", f"sqlite:///{tmp_path / 'day.db'}")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "day.db").stat().st_mode & 0o777 == 0o600
