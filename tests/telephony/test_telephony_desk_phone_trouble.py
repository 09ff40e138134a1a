"""The desk phone's network trouble, in Chromium with a SIPp caller through the IVR and queue:
a browser that stops sending audio in a call loses it (the caller hears BYE, the agent is on
break, the page says why); a browser whose ICE cannot connect after the agent accepted ends
its leg, the agent goes on break and the caller, answered by nobody yet, goes to the next
agent; a tab closed in a call ends it and puts its agent on break."""
from __future__ import annotations

import re
import socket
from urllib.parse import parse_qsl, urlencode

from caruso_core.testing import eventually
from sip_peers import Sipp
from test_telephony_desk_phone import (WELCOME_MS, accept, centre, chromium, desk_of,  # noqa: F401  (fixtures)
                                       go_available, incoming_calls, phone_error)

CANDIDATE_PORT = r"^(a=candidate:\S+ \d+ \S+ \d+ \S+) \d+"
# ICE towards a dead port, both ways: the page sees rtpengine's candidates, and rtpengine the
# page's, at a port where a socket of the test takes every packet and answers none, as on a
# network that drops them.
OFFER_TO = """(() => {
    const original = RTCPeerConnection.prototype.setRemoteDescription;
    RTCPeerConnection.prototype.setRemoteDescription = function (description) {
        const sdp = description.sdp.replace(new RegExp(%r, "gm"), "$1 %d");
        return original.call(this, {type: description.type, sdp: sdp});
    };
})();"""


def answers_to(port: int):
    """A route handler sending the page's SDP answer on with its candidates at ``port``."""
    def rewrite(route, request) -> None:
        fields = dict(parse_qsl(request.post_data))
        fields["sdp"] = re.sub(CANDIDATE_PORT, rf"\g<1> {port}", fields["sdp"], flags=re.MULTILINE)
        route.continue_(post_data=urlencode(fields))
    return rewrite


def talking(chromium, base: str, telephony, tmp_path):
    """ada's desk talking to a SIPp caller: the page, telephony's events, the caller, the leg."""
    page = desk_of(chromium, base, "ada")
    events = telephony.reader()
    caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
    page.wait_for_selector("#phone-accept:visible", timeout=60000)
    accept(page)
    return page, events, caller, events.next("leg_answered")["leg"]


def test_a_browser_that_stops_sending_audio_loses_the_call_and_its_agent_goes_on_break(centre, chromium, tmp_path):
    telephony, comm, url, base = centre
    page, events, caller, leg = talking(chromium, base, telephony, tmp_path)
    page.evaluate("window.deskPhone.pc.getSenders()[0].replaceTrack(null)")     # the microphone's audio stops
    media_timeout = telephony.config["browser"]["media_timeout"]
    assert events.next("leg_lost", leg=leg, limit=media_timeout + 10)["reason"] == "No Media"
    assert events.next("ended")["by"] == "agent"
    assert caller.wait() == 0, caller.log()                                  # the caller got a BYE
    agent = comm.agent("ada")
    assert (agent["status"], agent["reason"]) == ("break", "phone lost (No Media)")
    phone_error(page, "The call was lost: no audio came from this browser")
    assert page.inner_text("#phone-state") == "idle"
    eventually(lambda: incoming_calls(url), lambda report: report == {"answered": 1, "abandoned": 0},
               what="the report counting the call once")
    page.context.close()


def test_ice_that_cannot_connect_ends_the_leg_and_the_caller_goes_to_the_next_agent(centre, chromium, tmp_path):
    telephony, comm, url, base = centre
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dead:
        dead.bind(("127.0.0.1", 0))
        failing = desk_of(chromium, base, "ada")
        port = dead.getsockname()[1]
        failing.context.add_init_script(OFFER_TO % (CANDIDATE_PORT, port))
        failing.route("**/desk/phone/answer", answers_to(port))
        failing.reload()
        assert failing.get_attribute("#phone", "data-ice-limit") == "3.0"     # the desk's phone_ice_limit
        other = desk_of(chromium, base, "bea", available=False)
        events = telephony.reader()
        caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
        failing.wait_for_selector("#phone-accept:visible", timeout=60000)
        failing.click("#phone-accept")
        phone_error(failing, "The call's media could not connect (ICE failed)")  # Playwright's calls run the route
    failed = events.next("leg_failed")
    assert (failed["code"], failed["reason"]) == (480, "ICE Failed")
    assert "leg_answered" not in events.of(failed["call"])                # nobody answered the caller
    agent = eventually(lambda: comm.agent("ada"), lambda agent: agent["status"] == "break", what="ada not ready")
    assert agent["reason"] == "phone not reachable (ICE Failed)"
    go_available(other)
    other.wait_for_selector("#phone-accept:visible", timeout=60000)      # the caller waited in the queue
    accept(other)
    other.click("#phone-hangup")
    assert caller.wait() == 0, caller.log()
    eventually(lambda: incoming_calls(url), lambda report: report == {"answered": 1, "abandoned": 0},
               what="the report counting the call once, answered by bea")
    for page in (failing, other):
        page.context.close()


def test_a_tab_closed_in_a_call_ends_it_and_its_agent_goes_on_break(centre, chromium, tmp_path):
    telephony, comm, url, base = centre
    page, events, caller, leg = talking(chromium, base, telephony, tmp_path)
    page.close()                                                       # the tab, as a person closes it
    page.context.close()
    assert events.next("leg_lost", leg=leg)["reason"] == "Page Closed"     # the page's beacon as it went
    assert events.next("ended")["by"] == "agent"
    assert caller.wait() == 0, caller.log()
    agent = eventually(lambda: comm.agent("ada"), lambda agent: agent["status"] == "break", what="ada not ready")
    assert agent["reason"] == "phone lost (Page Closed)"
