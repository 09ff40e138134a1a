"""A running campaign is handed over in a hot-swap of the communication server (and back in
a roll-back): the rest of the call list is dialed once, nobody twice, no retry is lost. Real
servers on the real clock with the simulated dialer; the shared event log table is the witness."""
from __future__ import annotations

import collections
import json
import time

import sqlalchemy as sa

from caruso_comm.service import CommServer

CONTACTS = 40
RETRIES = {"busy": [2, 1.5], "no_answer": [2, 1.5]}
DIALER = {"answer_rate": 0.5, "busy_rate": 0.2, "ring": 0.05, "busy_after": 0.05,
          "no_answer_after": 0.1, "seed": 7}


def _call_list() -> str:
    return "number,customer\n" + "".join(f"+4930{n:04d},c{n}\n" for n in range(CONTACTS))


def _work(server, agents, until, limit: float = 90.0) -> None:
    """The agents accept every offer and complete every call until ``until()`` holds."""
    deadline = time.monotonic() + limit
    while not until():
        assert time.monotonic() < deadline, server.campaign("spring")
        for agent in agents:
            for interaction in server.agent(agent)["interactions"]:
                state = server.interaction(interaction)["state"]
                if state == "offered":
                    server.accept(agent, interaction)
                elif state == "connected":
                    server.complete(agent, interaction, "sale")
        time.sleep(0.02)


def _dials(db: str) -> list[tuple[str, int, float]]:
    """(number, attempt, time) of every dial in the event log, in order."""
    with sa.create_engine(db).connect() as connection:
        rows = connection.execute(sa.text(
            "select time, data from comm_events where event = 'dial' order by id")).all()
    return [(json.loads(data)["number"], json.loads(data)["attempt"], at) for at, data in rows]


def _check_each_attempt_dialed_once(dials, summary) -> None:
    attempts = collections.Counter((number, attempt) for number, attempt, _ in dials)
    assert max(attempts.values()) == 1, [k for k, n in attempts.items() if n > 1]
    per_number = collections.Counter(number for number, _, _ in dials)
    assert len(per_number) == CONTACTS and max(per_number.values()) <= 2
    assert summary["state"] == "finished" and summary["contacts"] == {"done": CONTACTS}
    assert summary["dialed"] == len(dials)


def test_a_hot_swap_hands_a_running_campaign_over(caruso_host, caruso_client, tmp_path):
    db = f"sqlite:///{tmp_path / 'comm.db'}"
    config = {"queues": [{"name": "sales"}], "db": db}
    caruso_host("comm", config=config)
    server = caruso_client.get("caruso.comm/1")
    server.add_campaign("spring", "sales", _call_list(), retries=RETRIES, dialer=DIALER)
    server.login("ann", {}, {"voice": 1})
    server.login("bob", {}, {"voice": 1})
    server.campaign("spring", "start")
    _work(server, ["ann", "bob"], lambda: server.campaign("spring")["dialed"] >= 15)
    swap_started = time.time()
    caruso_host("comm", config=config, replace=True)
    swapped = time.time()
    assert server.campaign("spring")["state"] == "active"
    _work(server, ["ann", "bob"], lambda: server.campaign("spring")["state"] == "finished")
    server.flush()                                          # every dial is in the event log
    dials = _dials(db)
    _check_each_attempt_dialed_once(dials, server.campaign("spring"))
    first = {number: at for number, attempt, at in dials if attempt == 1}
    assert any(first[number] < swap_started and at > swapped for number, attempt, at in dials if attempt == 2)
    assert any(at > swapped for _, attempt, at in dials if attempt == 1)


def test_a_roll_back_replaces_the_campaigns_the_old_instance_held(tmp_path):
    db = f"sqlite:///{tmp_path / 'comm.db'}"
    old, new = (CommServer(queues=[{"name": "sales"}], db=db) for _ in range(2))
    old.start()
    new.start()
    try:
        old.add_campaign("spring", "sales", _call_list(), retries=RETRIES, dialer=DIALER)
        old.login("ann", {}, {"voice": 1})
        old.campaign("spring", "start")
        _work(old, ["ann"], lambda: old.campaign("spring")["dialed"] >= 10)
        new.import_state(old.export_state())
        old.deactivate()
        held = old.campaign("spring")
        _work(new, ["ann"], lambda: new.campaign("spring")["dialed"] >= 25)
        assert old.campaign("spring") == held                # the deactivated instance dials nobody
        old.import_state(new.export_state())                 # roll-back
        new.deactivate()
        _work(old, ["ann"], lambda: old.campaign("spring")["state"] == "finished")
        assert new.campaign("spring")["dialed"] < old.campaign("spring")["dialed"]
    finally:
        old.stop()
        new.stop()
    _check_each_attempt_dialed_once(_dials(db), old.campaign("spring"))
