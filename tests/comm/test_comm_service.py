"""The communication server as a hosted service, over Pyro5, on the real clock."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from caruso_core.errors import ConfigError, Conflict

QUEUES = [{"name": "sales", "offer_timeout": 1.0, "max_no_answer": 0},
          {"name": "support", "skills": {"support": 1},
           "escalation": [{"after": 0.5, "queues": ["sales"]}]}]


def _await_event(comm, since: int, wanted: str, interaction: str, limit: float = 30.0) -> int:
    """Long-poll the feed until ``wanted`` happens to ``interaction``; the feed position after it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        feed = comm.events(since, 2.0)
        for event in feed["events"]:
            if event["event"] == wanted and event["interaction"] == interaction:
                return event["seq"]
        since = feed["last"]
    raise AssertionError(f"no {wanted} for {interaction} within {limit} s")


@pytest.fixture
def comm(caruso_host, caruso_client, tmp_path):
    db = f"sqlite:///{tmp_path / 'comm.db'}"
    host = caruso_host("caruso_comm.service:CommServer", config={"queues": QUEUES, "db": db})
    yield caruso_client.get("caruso.comm/1"), host, db


def test_agents_take_interactions_and_the_monitor_sees_every_event(comm):
    server, host, db = comm
    server.login("ann", {"sales": 1}, {"voice": 1})
    call = server.arrive("sales", customer="c1", from_="+4930111")
    assert call["state"] == "offered" and call["offers"] == ["ann"]
    assert server.accept("ann", call["id"])["state"] == "connected"
    with pytest.raises(Conflict):
        server.accept("ann", call["id"])
    server.complete("ann", call["id"], "sale")
    feed = server.events(0, 0)
    assert [e["event"] for e in feed["events"] if e["interaction"] == call["id"]] == [
        "enter", "offer", "connect", "complete"]
    assert feed["missed"] == 0 and server.events(feed["last"], 0)["events"] == []
    host.stop()
    with sa.create_engine(db).connect() as connection:
        logged = connection.execute(sa.text(
            "select event from comm_events where interaction = :i order by id"), {"i": call["id"]}).scalars().all()
    assert logged == ["enter", "offer", "connect", "complete"]


def test_timers_run_on_the_real_clock(comm):
    server, _, _ = comm
    server.login("bob", {}, {"voice": 1})
    first = server.arrive("sales")["id"]
    position = _await_event(server, 0, "no_answer", first)
    assert server.interaction(first)["state"] == "waiting"
    second = server.arrive("support")["id"]
    _await_event(server, position, "escalate", second)
    assert server.interaction(second)["offers"] == ["bob"]
    assert [e["event"] for e in server.events(position, 0)["events"] if e["interaction"] == second] == [
        "enter", "escalate", "offer"]


def test_supervisor_views_voicemail_and_cli(comm):
    server, _, _ = comm
    server.add_queue({"name": "chat", "channel": "chat"})
    with pytest.raises(ConfigError, match="unknown keys colour"):
        server.add_queue({"name": "x", "colour": "red"})
    server.login("cid", {"support": 2}, {"voice": 1, "chat": 2})
    server.set_status("cid", "break", "meeting")
    message = server.leave_voicemail("support", "call me back", caller="+4930222", customer="c9")
    assert [m["id"] for m in server.voicemails("support")] == [message["id"]]
    assert [w["id"] for w in server.waiting("support")] == [message["callback"]]
    queues = {q["name"]: q for q in server.queues()}
    assert queues["support"]["waiting"] == 1 and queues["chat"]["staffing"]["logged_in"] == 1
    done = subprocess.run([sys.executable, "-m", "caruso_core", "comm", "agents", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [(a["id"], a["status"], a["reason"]) for a in json.loads(done.stdout)] == [("cid", "break", "meeting")]
    done = subprocess.run([sys.executable, "-m", "caruso_core", "comm", "status", "cid", "available"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert server.agent("cid")["interactions"] == [message["callback"]]
