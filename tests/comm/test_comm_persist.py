"""The hosted communication server keeps its model in the hosted storage manager: queues,
agents and interactions are written behind; a restarted server reads queues and agents back
and routes the callbacks of voicemail again; records wait while the storage service is down."""
from __future__ import annotations

import time

import pytest

from caruso_core.errors import InvalidInput, NotFound
from caruso_comm import service
from caruso_comm.eventlog import EventLog
from caruso_core.testing.commands import caruso
from caruso_core.testing import eventually
from comm_records import MODEL, stored

@pytest.fixture
def storage_service(caruso_host, caruso_client, tmp_path):
    model = tmp_path / "crm.xml"
    model.write_text(MODEL)
    storage_config = {"model": str(model), "db": f"sqlite:///{tmp_path / 'crm.db'}"}
    return {"storage": caruso_client.get("caruso.storage/1"), "storage_config": storage_config,
            "storage_host": caruso_host("storage", config=storage_config)}


@pytest.fixture
def setup(storage_service, caruso_host, caruso_client, tmp_path):
    comm_config = {"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "sales"}], "persist": True}
    return {**storage_service, "comm_host": caruso_host("comm", config=comm_config),
            "comm_config": comm_config, "comm": caruso_client.get("caruso.comm/1")}


def test_a_restarted_server_has_its_queues_and_agents_and_the_interactions_are_stored(setup, caruso_host):
    comm, storage = setup["comm"], setup["storage"]
    comm.add_queue({"name": "french", "skills": {"french": 3}, "overflow": "sales",
                    "escalation": [{"after": 30, "queues": ["sales"]}]})
    comm.login("ann", {"french": 4}, {"voice": 1, "webchat": 2})
    call = comm.arrive("french", customer="K7", from_="+3130111")["id"]
    comm.accept("ann", call)
    comm.complete("ann", call, "order placed")
    comm.logout("ann")
    record = stored(storage, "CommInteraction", call, state="completed")
    assert (record["queue"], record["agent"], record["customer"], record["disposition"]) == (
        "french", "ann", "K7", "order placed")
    stored(storage, "CommAgent", "ann", status="logged_out")
    setup["comm_host"].stop()
    caruso_host("comm", config=setup["comm_config"])
    french = [q for q in comm.queues() if q["name"] == "french"][0]
    assert (french["skills"], french["overflow"], list(french["escalation"][0]["queues"])) == (
        {"french": 3}, "sales", ["sales"])
    assert comm.agent("ann")["status"] == "logged_out"
    assert comm.login("ann")["capacity"] == {"voice": 1, "webchat": 2}
    assert comm.arrive("french")["offers"] == ["ann"]


def test_records_wait_while_the_storage_service_is_down(setup, caruso_host):
    comm = setup["comm"]
    stored(setup["storage"], "CommQueue", "sales")
    setup["storage_host"].stop()
    call = comm.arrive("sales", customer="K8")["id"]
    comm.abandon(call)
    comm.flush()                                         # its record is made now, and cannot be written
    caruso_host("storage", config=setup["storage_config"])
    assert stored(setup["storage"], "CommInteraction", call, state="abandoned")["customer"] == "K8"


def test_a_hot_swap_hands_over_what_is_not_written_yet(setup, caruso_host):
    comm, storage = setup["comm"], setup["storage"]
    comm.login("bob", {}, {"voice": 1})
    stored(storage, "CommAgent", "bob", status="available")
    comm.logout("bob")
    comm.login("cid", {}, {"voice": 1})
    call = comm.arrive("sales", customer="K9")["id"]
    comm.accept("cid", call)
    caruso_host("comm", config=setup["comm_config"], replace=True)
    assert comm.agent("bob")["status"] == "logged_out"
    assert comm.interaction(call)["state"] == "connected"
    comm.complete("cid", call, "done")
    assert stored(storage, "CommInteraction", call, state="completed")["agent"] == "cid"
    assert stored(storage, "CommAgent", "bob", status="logged_out")


def test_a_restarted_server_lists_voicemail_not_called_back_and_has_its_campaigns_paused(setup, caruso_host):
    comm, storage = setup["comm"], setup["storage"]
    message = comm.leave_voicemail("sales", "call me about my bill", caller="+3130444", customer="K4")
    comm.add_campaign("spring", "sales", "number,customer\n+4930100,K1\n+4930200,K2\n",
                      retries={"busy": [2, 3600]}, dialer={"answer_rate": 0, "busy_rate": 1, "busy_after": 0.05})
    comm.login("ann", {}, {"voice": 1})                    # offered the callback task
    comm.login("bob", {}, {"voice": 1})                    # ready for the campaign
    comm.campaign("spring", "start")
    for position in (0, 1):
        stored(storage, "CommCampaignContact", f"spring/{position}", status="retry", attempts=1)
    stored(storage, "CommCampaign", "spring", state="active", dialed=2)
    assert stored(storage, "CommVoicemail", message["id"], state="new")["text"] == "call me about my bill"
    setup["comm_host"].stop()
    caruso_host("comm", config=setup["comm_config"])
    listed = comm.voicemails()
    assert [(m["id"], m["state"], m["content"], m["caller"]) for m in listed] == [
        (message["id"], "new", "call me about my bill", "+3130444")]
    spring = comm.campaign("spring")
    assert (spring["state"], spring["dialed"], spring["contacts"]) == ("paused", 2, {"retry": 2})
    stored(storage, "CommCampaign", "spring", state="paused")
    assert comm.campaign("spring", "resume")["state"] == "active"


def _logged(db: str, *names: str) -> list:
    """The events named ``names`` in the event log at ``db``, in order."""
    log = EventLog(db)
    try:
        return [event for event in log.read() if event.event in names]
    finally:
        log.close()


def _entered(db: str, interaction: str) -> int:
    """How many times ``interaction`` entered a queue, by the event log at ``db``."""
    return sum(1 for event in _logged(db, "enter") if event.interaction == interaction)


def _swap(caruso_manager, instance_id: str) -> None:
    done = caruso("swap", "comm", instance_id, env={"CARUSO_MANAGER": caruso_manager.uri})
    assert done.returncode == 0, done.stderr


def test_a_restarted_server_routes_the_callbacks_of_voicemail_not_called_back(setup, caruso_host):
    comm, storage = setup["comm"], setup["storage"]
    message = comm.leave_voicemail("sales", "call me about my meter", caller="+3130555", customer="K5")
    stored(storage, "CommVoicemail", message["id"], state="new")
    setup["comm_host"].stop()
    restarted = caruso_host("comm", config=setup["comm_config"])
    assert comm.login("ann", {}, {"voice": 1})["interactions"] == [message["callback"]]
    comm.accept("ann", message["callback"])
    comm.complete("ann", message["callback"], "called back")
    assert stored(storage, "CommVoicemail", message["id"], state="called_back")
    assert stored(storage, "CommInteraction", message["callback"], state="completed")["to"] == "+3130555"
    restarted.stop()
    assert _entered(setup["comm_config"]["db"], message["callback"]) == 2


def test_a_hot_swap_routes_the_callbacks_of_voicemail_once(setup, caruso_host, caruso_manager):
    comm, storage = setup["comm"], setup["storage"]
    message = comm.leave_voicemail("sales", "call me about my meter", caller="+3130666")
    stored(storage, "CommVoicemail", message["id"], state="new")
    standby = caruso_host("comm", config=setup["comm_config"], standby=True)
    _swap(caruso_manager, standby.instance_id)
    assert comm.login("bob", {}, {"voice": 1})["interactions"] == [message["callback"]]
    assert [m["state"] for m in comm.voicemails()] == ["new"]
    standby.stop()
    setup["comm_host"].stop()
    assert _entered(setup["comm_config"]["db"], message["callback"]) == 1


def test_a_standby_made_active_without_a_predecessor_reads_what_was_stored_after_it_started(
        setup, caruso_host, caruso_manager):
    comm, storage = setup["comm"], setup["storage"]
    standby = caruso_host("comm", config=setup["comm_config"], standby=True)
    comm.add_queue({"name": "french", "skills": {"french": 3}})
    comm.add_dnc(["+4930777"])
    stored(storage, "CommQueue", "french")
    stored(storage, "CommDoNotCall", "+4930777")
    setup["comm_host"].stop()                            # gone without an export
    _swap(caruso_manager, standby.instance_id)
    assert [q["skills"] for q in comm.queues() if q["name"] == "french"] == [{"french": 3}]
    assert comm.add_dnc([]) == 1


def test_the_do_not_call_list_is_kept_across_a_restart(setup, caruso_host):
    comm, storage = setup["comm"], setup["storage"]
    assert comm.add_dnc(["+49 30 777", "+4930777"]) == 1
    with pytest.raises(InvalidInput, match="'12' is not a phone number"):
        comm.add_dnc(["+4930999", "12"])                 # all or none
    assert stored(storage, "CommDoNotCall", "+4930777")["added"]
    setup["comm_host"].stop()
    caruso_host("comm", config=setup["comm_config"])
    assert comm.add_dnc([]) == 1
    comm.add_campaign("autumn", "sales", "number,customer\n+4930777,K1\n+4930888,K2\n",
                      dialer={"answer_rate": 0, "busy_rate": 1, "busy_after": 0.05})
    comm.login("bob", {}, {"voice": 1})
    comm.campaign("autumn", "start")
    assert eventually(lambda: comm.campaign("autumn")["contacts"].get("dnc")) == 1


def test_a_server_whose_swap_did_not_happen_resumes_its_timers_and_writes_the_records_it_held(
        storage_service, caruso_host, tmp_path):
    storage = storage_service["storage"]
    server = service.CommServer(queues=[{"name": "sales", "offer_timeout": 0.2}],
                                db=f"sqlite:///{tmp_path / 'comm.db'}", persist=True)
    server.start()
    server.cold_start()
    try:
        stored(storage, "CommQueue", "sales")
        storage_service["storage_host"].stop()          # the call's record cannot be written now
        server.login("ann", {}, {"voice": 1})
        call = server.arrive("sales", customer="K3")["id"]
        state = server.export_state()
        assert ["CommInteraction", call] in [[kind, key] for kind, key, _ in state["records"]["pending"]]
        caruso_host("storage", config=storage_service["storage_config"])
        time.sleep(0.3)           # past the offer timeout (0.2 s): a held server fires no timer ...
        server.flush()            # ... and writes no record (waiting to see nothing happen)
        assert server.interaction(call)["offers"] == ["ann"]
        with pytest.raises(NotFound):
            storage.get("CommInteraction", call)
        server.resume()                                  # no deactivate follows: the swap failed
        assert eventually(lambda: not server.interaction(call)["offers"])
        assert "no_answer" in [e["event"] for e in server.events(0, 0)["events"] if e["interaction"] == call]
        assert stored(storage, "CommInteraction", call)["customer"] == "K3"
    finally:
        server.stop()


def test_a_cold_start_after_a_swap_away_stores_the_closed_interactions_in_their_final_state(
        storage_service, tmp_path):
    storage = storage_service["storage"]
    server = service.CommServer(queues=[{"name": "sales"}], db=f"sqlite:///{tmp_path / 'comm.db'}",
                                persist=True)                    # not started: records written below only
    server.cold_start()
    server.login("ann", {}, {"voice": 1})
    call = server.arrive("sales")["id"]
    server.accept("ann", call)
    server.export_state()
    server.deactivate()                                          # swapped away
    server.cold_start()                                          # started cold again: the call is closed
    server._records.collect()
    server._records.flush()
    record = storage.get("CommInteraction", call)
    assert (record["state"], record["disposition"]) == ("completed", "restart")


def _statuses(db: str) -> dict[str, list[tuple[str, str]]]:
    """Per agent, the (status, reason) of its ``agent_status`` events in the event log at ``db``."""
    found = {}
    for event in _logged(db, "agent_status"):
        found.setdefault(event.agent, []).append((event.data["status"], event.data["reason"]))
    return found


def _endings(db: str) -> dict[str, list[tuple[str, dict]]]:
    """Per interaction, its ending and withdraw events (name, data) in the event log at ``db``;
    under ``None`` the ``restart`` events."""
    found = {}
    for event in _logged(db, "complete", "abandon", "voicemail", "withdraw", "restart"):
        found.setdefault(event.interaction, []).append((event.event, event.data))
    return found


def test_a_cold_start_ends_the_interactions_no_channel_holds_once_and_keeps_the_agents_logged_in(
        setup, caruso_host):
    comm, storage = setup["comm"], setup["storage"]
    comm.login("ann", {}, {"voice": 1})
    talking = comm.arrive("sales", customer="K1")["id"]
    comm.accept("ann", talking)
    ringing = comm.arrive("sales")["id"]
    comm.login("bob", {}, {"voice": 1})
    assert comm.interaction(ringing)["offers"] == ["bob"]
    message = comm.leave_voicemail("sales", "call me", caller="+3130777")
    comm.login("cy", {}, {"voice": 1})
    comm.set_status("cy", "break", "lunch")
    waiting = comm.arrive("sales")["id"]
    for agent in ("ann", "bob", "cy"):
        stored(storage, "CommAgent", agent, status="break" if agent == "cy" else "available")
    stored(storage, "CommInteraction", talking, state="connected")
    stored(storage, "CommVoicemail", message["id"], state="new")
    setup["comm_host"].stop()                            # no export: the calls are left open
    caruso_host("comm", config=setup["comm_config"]).stop()   # no channel holds them: they end
    caruso_host("comm", config=setup["comm_config"])          # a second cold start ends nothing more
    comm.flush()
    endings = _endings(setup["comm_config"]["db"])
    assert [(name, data["disposition"]) for name, data in endings[talking]] == [("complete", "restart")]
    assert [(name, data.get("reason")) for name, data in endings[ringing]] == [
        ("withdraw", "restart"), ("abandon", "restart")]
    assert [(name, data["reason"]) for name, data in endings[waiting]] == [("abandon", "restart")]
    assert "abandon" not in [name for name, _ in endings[message["callback"]]]   # routed again instead
    assert _entered(setup["comm_config"]["db"], message["callback"]) == 3
    assert [data["closed"] for _, data in endings[None]] == [0, 3, 0]       # one per cold start
    assert [data["logged_out"] for _, data in endings[None]] == [0, 0, 0]
    assert {agent: comm.agent(agent)["status"] for agent in ("ann", "bob", "cy")} == {
        "ann": "available", "bob": "available", "cy": "break"}
    assert comm.agent("cy")["reason"] == "lunch"
    assert _statuses(setup["comm_config"]["db"])["cy"] == [("available", "")] + [("break", "lunch")] * 3
    assert stored(storage, "CommInteraction", talking, state="completed")["disposition"] == "restart"
    assert stored(storage, "CommInteraction", waiting, state="closed")["ended"]
