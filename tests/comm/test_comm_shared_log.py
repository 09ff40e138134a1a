"""Communication servers sharing one event log (on several hosts): a cold start of one
closes only what it left open, never another server's live interactions and agents; a
server of the same name (a standby taking over) takes up what its predecessor left
(docs/communication.md, "Event log")."""
from __future__ import annotations

from caruso_core.context import HostContext
from caruso_comm.eventlog import EventLog
from caruso_comm.service import CommServer


def _server(db, name, queue):
    return CommServer(queues=[{"name": queue}], db=db, context=HostContext.standalone(name))


def _logged(db):
    log = EventLog(db)
    try:
        return list(log.read())
    finally:
        log.close()


def _story(events, call):
    return [(e.event, e.data.get("reason")) for e in events if e.interaction == call]


def _logged_out_by_restart(events):
    return [e.agent for e in events if e.event == "agent_status" and e.data.get("reason") == "restart"]


def test_a_cold_start_closes_what_its_own_server_left_and_leaves_the_other_servers_work(tmp_path):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    berlin, hamburg = _server(db, "comm-berlin", "billing"), _server(db, "comm-hamburg", "sales")
    berlin.cold_start()
    hamburg.cold_start()
    berlin.login("ann", {}, {"voice": 1})
    berlin_call = berlin.arrive("billing")["id"]
    hamburg.login("bob", {}, {"voice": 1})
    hamburg_call = hamburg.arrive("sales")["id"]
    hamburg.stop()                                   # ended without a hand-over: its work stays open in the log
    again = _server(db, "comm-hamburg", "sales")
    try:
        again.cold_start()
        again.flush()
        berlin.flush()
        events = _logged(db)
        assert _story(events, berlin_call) == [("enter", None), ("offer", None)]     # still Berlin's, ringing
        assert _story(events, hamburg_call) == [("enter", None), ("offer", None), ("withdraw", "restart"),
                                                ("abandon", "restart")]
        assert _logged_out_by_restart(events) == ["bob"]
        assert berlin.interaction(berlin_call)["offers"] == ["ann"]
        assert {e.data["server"] for e in events if e.event in ("enter", "agent_status", "restart")} == {
            "comm-berlin", "comm-hamburg"}
    finally:
        again.stop()
    berlin.stop()
    standby = _server(db, "comm-berlin", "billing")  # Berlin's standby, of the same name, takes over cold
    try:
        standby.cold_start()
    finally:
        standby.stop()
    events = _logged(db)
    assert _story(events, berlin_call)[-2:] == [("withdraw", "restart"), ("abandon", "restart")]
    assert _logged_out_by_restart(events) == ["bob", "ann"]
    restarts = sorted((e.data["server"], e.data["closed"]) for e in events if e.event == "restart")
    assert restarts == [("comm-berlin", 0), ("comm-berlin", 1), ("comm-hamburg", 0), ("comm-hamburg", 1)]
