"""The monitor service over Pyro5, following the event log of a running communication server."""
from __future__ import annotations

import time

import pytest

from caruso_core.testing import eventually
from caruso_core.testing.commands import Ran, caruso

QUEUES = [{"name": "sales", "offer_timeout": 60.0, "max_no_answer": 0},
          {"name": "complaints", "sl_target": 60.0}]       # configured, never used


def _caruso(*arguments: str) -> Ran:
    return caruso(*arguments)


@pytest.fixture
def centre(caruso_host, caruso_client, tmp_path):
    db = f"sqlite:///{tmp_path / 'comm.db'}"
    caruso_host("comm", config={"queues": QUEUES, "db": db})
    comm = caruso_client.get("caruso.comm/1")
    comm.login("ann")
    comm.login("bob", status="break")
    first = comm.arrive("sales", id="call-1")
    comm.accept("ann", first["id"])
    comm.arrive("sales", id="call-2")
    return comm, db


def _shape(picture: dict) -> tuple:
    return ({a["id"]: (a["status"], a["state"]) for a in picture["agents"]},
            [(w["id"], w["queue"], w["state"]) for w in picture["waiting"]])


EXPECTED = ({"ann": ("available", "busy"), "bob": ("break", "idle")}, [("call-2", "sales", "waiting")])


def test_the_monitor_follows_the_log_and_subscribers_get_updates(centre, caruso_host, caruso_client):
    comm, db = centre
    caruso_host("monitor", config={"db": db, "poll": 0.2})
    monitor = caruso_client.get("caruso.monitor/1")
    picture = eventually(lambda: monitor.updates(-1, 2.0), lambda p: _shape(p) == EXPECTED)
    assert _shape(picture) == EXPECTED
    assert picture["agent_counts"]["logged_in"] == 2
    complaints, sales = picture["queues"]          # the idle queue is shown too
    assert (sales["queue"], sales["waiting"], sales["connected"], sales["answered"]) == ("sales", 1, 1, 1)
    assert (complaints["queue"], complaints["waiting"], complaints["answered"]) == ("complaints", 0, 0)
    started = time.monotonic()
    comm.set_status("bob", "available")          # bob is offered call-2 at once
    update = monitor.updates(picture["version"], 25.0)
    assert update["version"] > picture["version"] and time.monotonic() - started < 25.0
    update = eventually(lambda: monitor.updates(-1, 1.0),
                        lambda p: _shape(p)[1] == [("call-2", "sales", "offered")])
    assert _shape(update)[0]["bob"] == ("available", "offered")
    quiet = monitor.updates(update["version"], 0.5)    # nothing new: the same picture after the timeout
    assert quiet["version"] == update["version"]


def test_a_monitor_started_late_rebuilds_the_picture_and_the_wallboard_shows_it(centre, caruso_host,
                                                                               caruso_client):
    comm, db = centre
    comm.flush()                                     # the log holds every event so far
    caruso_host("monitor", config={"db": db, "poll": 0.2})
    monitor = caruso_client.get("caruso.monitor/1")
    picture = eventually(monitor.picture, lambda p: _shape(p) == EXPECTED)
    assert _shape(picture) == EXPECTED
    frame = _caruso("monitor", "--once")
    assert frame.returncode == 0, frame.stderr
    lines = frame.stdout.splitlines()
    assert lines[0].startswith("caruso monitor")
    assert "logged_in 2" in lines[1] and "busy 1" in lines[1]
    assert any(line.split()[:2] == ["sales", "1"] for line in lines)
    assert any(line.split()[:3] == ["ann", "available", "busy"] for line in lines)
    assert any(line.split()[:3] == ["call-2", "sales", "waiting"] for line in lines)
    offline = _caruso("monitor", "--once", "--db", db)
    assert offline.returncode == 0, offline.stderr
    assert [line.split()[:2] for line in offline.stdout.splitlines()[3:]] == \
        [line.split()[:2] for line in lines[3:]]


def test_the_wallboard_refuses_a_database_without_an_event_log(tmp_path):
    missing = tmp_path / "missing.db"
    done = _caruso("monitor", "--once", "--db", f"sqlite:///{missing}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: --db sqlite:///{missing}: no event log there")
    assert not missing.exists()
