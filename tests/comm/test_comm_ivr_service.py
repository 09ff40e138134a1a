"""The IVR through the services: a call enters a menu of the hosted communication server,
which runs the dialog script on the hosted script engine (caruso.scripts/1) over Pyro5."""
from __future__ import annotations

from pathlib import Path

import pytest

from caruso_core.errors import NotFound
from caruso_core.testing.commands import caruso
from caruso_core.verticals import deployment_data

SCRIPTS = Path(__file__).parent / "scripts"
QUEUES = [{"name": "power"}, {"name": "general"}]
MENU = {"script": "hotline", "numbers": ["+3120100"], "default": "general",
        "routes": {"power": "power", "hours": "self_service", "message": "voicemail:general"}}


@pytest.fixture
def comm(caruso_host, caruso_client, tmp_path):
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    config = {"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES, "ivr": [MENU]}
    caruso_host("comm", config=config)
    return caruso_client.get("caruso.comm/1"), config


def _flow(comm, call: str) -> list[str]:
    return [e["event"] for e in comm.events(0, 0)["events"] if e["interaction"] == call]


def test_digits_route_a_call_to_a_queue_through_the_script_engine(comm):
    comm, _ = comm
    assert comm.ivrs() == [dict(MENU, numbers=["+3120100"])]
    comm.login("ann", {}, {"voice": 1})
    first = comm.ivr_call("call1", to="+3120100", caller="+3130111", customer="c1")
    assert first["prompt"].startswith("Welcome to the hotline. What is your call about?")
    assert (first["done"], first["target"]) == (False, None)
    assert "not one of the options" in comm.ivr_press("call1", "9")["prompt"]
    assert comm.ivr_press("call1", "1") == {"prompt": "", "done": True, "target": "power", "keys": None}
    call = comm.interaction("call1")
    assert (call["queue"], call["offers"], call["from"], call["to"], call["customer"]) == (
        "power", ["ann"], "+3130111", "+3120100", "c1")
    assert _flow(comm, "call1") == ["ivr_start", "ivr_end", "enter", "offer"]
    started = [e for e in comm.events(0, 0)["events"] if e["event"] == "ivr_start"][0]
    assert (started["data"]["script"], started["data"]["caller"]) == ("hotline", "+3130111")
    with pytest.raises(NotFound):
        comm.ivr_press("call1", "1")
    with pytest.raises(NotFound, match="no IVR answers number '\\+3120999'"):
        comm.ivr_call("call2", to="+3120999")


def test_voicemail_self_service_and_hang_up(comm):
    comm, _ = comm
    comm.ivr_call("b", to="+3120100", caller="+3130222")
    assert comm.ivr_press("b", "3")["target"] == "voicemail:general"
    message = comm.ivr_message("b", b"\x00audio")
    assert (message["queue"], message["caller"], message["content"]) == ("general", "+3130222", b"\x00audio")
    assert [w["id"] for w in comm.waiting("general")] == [message["callback"]]
    comm.ivr_call("c", to="+3120100")
    assert comm.ivr_press("c", "2") == {"prompt": "We are open from eight to six.", "done": True,
                                        "target": "self_service", "keys": None}
    listed = caruso("comm", "ivrs")
    assert listed.stdout.split("\n")[1].split()[:3] == ["hotline", "+3120100", "general"], listed.stderr
    comm.ivr_call("d", to="+3120100")
    comm.ivr_hang_up("d")
    assert _flow(comm, "d") == ["ivr_start", "ivr_abandon"]
    assert [e["data"]["target"] for e in comm.events(0, 0)["events"] if e["event"] == "ivr_end"] == [
        "voicemail:general", "self_service"]


def test_a_call_in_the_ivr_survives_a_hot_swap_of_the_communication_server(comm, caruso_host):
    comm, config = comm
    comm.ivr_call("e", to="+3120100", caller="+3130333")
    caruso_host("comm", config=config, replace=True)
    assert comm.ivr_press("e", "4")["target"] == "general"
    assert comm.interaction("e")["from"] == "+3130333"


def test_the_utility_phone_menu_sends_outages_to_the_outage_team(caruso_host, caruso_client, tmp_path):
    services = deployment_data(["utility"])["services"]
    caruso_host("scripts", config=dict(services["scripts"]["config"], db=f"sqlite:///{tmp_path / 'scripts.db'}"))
    vertical = services["comm"]["config"]
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": vertical["queues"],
                                "ivr": vertical["ivr"]})
    comm = caruso_client.get("caruso.comm/1")
    comm.login("olga", {"outages": 1}, {"voice": 1})
    menu = comm.ivr_call("u1", to="+31880001234", caller="+31612345678")
    assert "For A power, gas or water outage, press 1." in menu["prompt"]
    routed = comm.ivr_press("u1", "1")
    assert (routed["target"], comm.interaction("u1")["offers"]) == ("outages", ["olga"])
    comm.ivr_call("u2", caller="+31687654321")
    assert comm.ivr_press("u2", "6")["target"] == "voicemail:billing"
    message = comm.ivr_message("u2", b"please call me about my bill")
    assert [w["id"] for w in comm.waiting("billing")] == [message["callback"]]
