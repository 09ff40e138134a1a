"""A caller who keys nothing in the IVR is asked again, then routed to the menu's default:
nobody waits in a menu for ever (a lost key, a rotary phone, a caller who does not know)."""
from __future__ import annotations

from caruso_core.testing import eventually
from sip_peers import Sipp
from voice_centre import start_centre


def test_a_silent_caller_hears_the_menu_twice_then_waits_in_the_default_queue(caruso_host, caruso_client, tmp_path):
    telephony, comm, _ = start_centre(caruso_host, caruso_client, tmp_path,
                                      voice={"no_input": 1, "no_input_repeats": 1}, rtp_ports=64)
    events = telephony.reader()
    caller = Sipp("caller_hung_up.xml", tmp_path, telephony.target, service="100").start()
    call = events.next("incoming")["call"]
    prompts = [events.next("played", call) for _ in range(2)]
    assert all(not played.get("stopped") for played in prompts)     # the menu, then the menu again
    ended = eventually(lambda: [e for e in comm.events(0, 0)["events"] if e["event"] == "ivr_end"],
                       what="the IVR ending the silent call")
    assert [(e["interaction"], e["data"]["outcome"], e["data"]["target"]) for e in ended] == [(call, None, "general")]
    assert comm.interaction(call)["queue"] == "general"
    telephony.service.hangup(call)
    assert caller.wait() == 0, caller.log()
