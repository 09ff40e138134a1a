"""IVR: a real dialog script (script engine service, its IVR runner) routes calls by outcome;
in process here, through hosted services in test_comm_ivr_service.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from caruso_core.errors import ConfigError, Conflict, NotFound
from caruso_comm.ivr import Ivr, IvrMenu, menu_from_dict
from caruso_comm.model import Queue
from caruso_comm.voicemail import VoicemailBox
from caruso_scripts.service import ScriptService

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def ivr(desk, tmp_path):
    desk.acd.add_queue(Queue("power"))
    desk.acd.add_queue(Queue("general"))
    scripts = ScriptService(scripts=str(SCRIPTS), db=f"sqlite:///{tmp_path / 'scripts.db'}")
    menu = IvrMenu("hotline", "general", {"power": "power", "hours": "self_service",
                                          "message": "voicemail:general"})
    return Ivr(desk.acd, lambda: scripts, [menu], voicemail=VoicemailBox(desk.acd))


def test_digits_choose_the_queue(ivr, desk):
    desk.acd.login("ann", {}, {"voice": 1})
    first = ivr.call("call1", caller="+4930111", customer="c1")
    assert "Welcome to the hotline." in first["prompt"] and "Electricity, press 1" in first["prompt"]
    assert not first["done"] and first["keys"] == "one"           # a single key picks an option
    routed = ivr.press("call1", "1")
    assert (routed["done"], routed["target"]) == (True, "power")
    assert desk.offered_to("call1") == ["ann"]
    assert desk.named("enter", interaction="call1")[0].data["customer"] == "c1"
    assert [e.event for e in desk.events if e.interaction == "call1"][:3] == ["ivr_start", "ivr_end", "enter"]
    with pytest.raises(NotFound):
        ivr.press("call1", "1")


def test_self_service_voicemail_and_the_default_queue(ivr, desk):
    ivr.call("a")
    assert ivr.press("a", "2") == {"prompt": "We are open from eight to six.", "done": True,
                                   "target": "self_service", "keys": None}
    assert "a" not in desk.acd.interactions
    ivr.call("b", caller="+4930222")
    assert ivr.press("b", "3")["target"] == "voicemail:general"
    with pytest.raises(Conflict):
        ivr.press("b", "1")
    message = ivr.leave_message("b", b"audio")
    assert desk.acd.interactions[message["callback"]].queue == "general"
    ivr.call("c")
    assert "not one of the options" in ivr.press("c", "7")["prompt"]
    assert ivr.press("c", "4")["target"] == "general"
    ivr.call("d")
    ivr.hang_up("d")
    assert desk.named("ivr_abandon", interaction="d")


def test_entry_numbers_pick_the_menu(desk, tmp_path):
    desk.acd.add_queue(Queue("general"))
    desk.acd.add_queue(Queue("power"))
    scripts = ScriptService(scripts=str(SCRIPTS), db=f"sqlite:///{tmp_path / 'scripts.db'}")
    ivr = Ivr(desk.acd, lambda: scripts, [IvrMenu("hotline", "general", numbers=["+3120100"]),
                                          IvrMenu("hotline", "power", numbers=["+3120200", "+3120300"])])
    assert ivr.call("a", to="+3120300")["done"] is False
    assert ivr.press("a", "4")["target"] == "power"
    ivr.call("b", to="+3120100")
    assert ivr.press("b", "4")["target"] == "general"
    with pytest.raises(NotFound, match="no IVR answers number '\\+3120999'"):
        ivr.call("c", to="+3120999")
    assert "c" not in desk.acd.interactions


def test_menus_are_checked_when_configured(desk):
    desk.acd.add_queue(Queue("general"))
    with pytest.raises(ConfigError, match="target 'nowhere'"):
        Ivr(desk.acd, None, [IvrMenu("hotline", "nowhere")])
    with pytest.raises(ConfigError, match="needs a voicemail box"):
        Ivr(desk.acd, None, [IvrMenu("hotline", "general", {"m": "voicemail:general"})])
    with pytest.raises(ConfigError, match="both answer every number"):
        Ivr(desk.acd, None, [IvrMenu("a", "general"), IvrMenu("b", "general")])
    with pytest.raises(ConfigError, match="number '1' is answered by 'a' and 'b'"):
        Ivr(desk.acd, None, [IvrMenu("a", "general", numbers=["1"]), IvrMenu("b", "general", numbers=["1"])])
    with pytest.raises(ConfigError, match="IVR menu 'x': unknown keys queue"):
        menu_from_dict({"script": "x", "default": "general", "queue": "general"})
    with pytest.raises(ConfigError, match="IVR menu 'x': no default"):
        menu_from_dict({"script": "x"})
