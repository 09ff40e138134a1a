"""IVR: a real dialog script (script engine service, its IVR runner) routes calls by outcome."""
from __future__ import annotations

from pathlib import Path

import pytest

from caruso_core.errors import ConfigError, Conflict, NotFound
from caruso_comm.ivr import Ivr
from caruso_comm.model import Queue
from caruso_comm.voicemail import VoicemailBox
from caruso_scripts.ivr import IvrRunner
from caruso_scripts.service import ScriptService

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def ivr(desk, tmp_path):
    desk.acd.add_queue(Queue("power"))
    desk.acd.add_queue(Queue("general"))
    menu = IvrRunner(ScriptService(scripts=str(SCRIPTS), db=f"sqlite:///{tmp_path / 'scripts.db'}"))
    return Ivr(desk.acd, menu, "hotline", {"power": "power", "hours": "self_service",
                                            "message": "voicemail:general"},
               default="general", voicemail=VoicemailBox(desk.acd))


def test_digits_choose_the_queue(ivr, desk):
    desk.acd.login("ann", {}, {"voice": 1})
    first = ivr.call("call1", caller="+4930111", customer="c1")
    assert "Welcome to the hotline." in first["prompt"] and "Electricity, press 1" in first["prompt"]
    assert not first["done"]
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
                                   "target": "self_service"}
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


def test_routes_must_name_queues(desk):
    with pytest.raises(ConfigError, match="target 'nowhere'"):
        Ivr(desk.acd, None, "hotline", {"x": "nowhere"}, default="nowhere")
