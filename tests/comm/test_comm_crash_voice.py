"""``kill -9`` of the communication server during real calls: telephony holds them, so the
restarted server takes them back through its voice channel (docs/communication.md, "After a
restart"). SIPp is the callers and an agent's phone; the telephony component runs in its
own process as in production."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from caruso_core.testing import eventually
from caruso_comm.eventlog import EventLog
from comm_records import MODEL, stored
from comm_servers import restarted

sys.path.insert(0, str(Path(__file__).parent.parent / "telephony"))     # the SIP peers of the telephony tests
from sip_peers import Sipp, rtp_range  # noqa: E402
from telephony_hosts import host_telephony  # noqa: E402

def test_calls_waiting_and_connected_survive_a_killed_server(caruso_host, caruso_client, tmp_path):
    model = tmp_path / "crm.xml"
    model.write_text(MODEL)
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    telephony = host_telephony(caruso_host, caruso_client, numbers=["100"],
                               media={"rtp_ports": rtp_range(128), "rtp_timeout": 60})
    config = {"db": f"sqlite:///{tmp_path / 'comm.db'}", "persist": True, "queues": [{"name": "calls"}],
              "channels": {"voice": {"queue": "calls", "position_every": 0}}}
    server = caruso_host("comm", config=config, process=True)
    comm = caruso_client.get("caruso.comm/1")
    telephony.service.set_phone("agent-1", "phone1", "secret1")
    phone = Sipp("phone_answers.xml", tmp_path, calls=2).start()            # answers, waits for the BYE
    register = Sipp("phone_register.xml", tmp_path, telephony.target, auth=("phone1", "secret1"),
                    keys={"user": "phone1", "contact_port": phone.port, "expires": 300})
    assert register.run() == 0, register.log()
    comm.login("agent-1", {}, {"voice": 1})

    first = Sipp("caller_queued.xml", tmp_path, telephony.target, service="100", duration=500).start()
    try:
        talking = eventually(lambda: comm.agent("agent-1")["state"] == "busy" and comm.agent("agent-1")["interactions"],
                             limit=60, what="the agent's phone in the first call")
    except AssertionError as error:
        raise AssertionError(f"{error}\ncaller:\n{first.log()}\nphone:\n{phone.log()}") from None
    second = Sipp("caller_queued.xml", tmp_path, telephony.target, service="100", duration=500).start()
    waiting = eventually(lambda: comm.waiting("calls"))[0]
    stored(storage, "CommInteraction", waiting["id"], state="waiting")
    stored(storage, "CommAgent", "agent-1", state="busy")
    server.kill()                                                  # SIGKILL, mid-call

    caruso_host("comm", config=config, process=True)
    comm = eventually(lambda: restarted(caruso_client, "agent-1"))
    now = comm.interaction(talking[0])
    assert (now["state"], now["agent"]) == ("connected", "agent-1")
    assert comm.interaction(waiting["id"])["entered"] == waiting["entered"]
    eventually(lambda: comm.channels()["voice"]["calls"] == 2)    # the voice channel follows both calls again
    comm.complete("agent-1", talking[0], "")                      # the agent ends it at the desk: both hang up
    eventually(lambda: comm.interaction(waiting["id"])["state"] == "connected")   # the phone answered
    comm.complete("agent-1", waiting["id"], "")
    for sipp in (first, second, phone):                            # both answered, talked and hung up
        assert sipp.wait() == 0, sipp.log()
        assert sipp.counts()["failed"] == 0, sipp.log()
    assert phone.counts()["successful"] == 2
    comm.flush()
    log = EventLog(config["db"])
    events = list(log.read())
    log.close()
    completed = {e.interaction: e for e in events if e.event == "complete"}
    assert set(completed) == {talking[0], waiting["id"]}
    assert {(e.agent, e.data["disposition"]) for e in completed.values()} == {("agent-1", "")}
    assert not [e for e in events if e.event == "abandon"]
    [connect] = [e for e in events if e.event == "connect" and e.interaction == waiting["id"]]
    assert connect.data["wait"] == pytest.approx(connect.time - waiting["entered"], abs=0.01)   # from its arrival
    assert [e.data["kept"] for e in events if e.event == "restart"] == [0, 2]
    eventually(telephony.service.calls, lambda calls: calls == [], what="telephony holding no call")
