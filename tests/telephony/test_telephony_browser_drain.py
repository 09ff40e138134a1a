"""A drain swap of the telephony component while agents talk through the desk phone: SIPp
callers through the IVR and queue ring two agents' desks in Chromium; one answers (WebRTC
bridged by rtpengine), then the component is hot-swapped. The old instance keeps both calls;
the desks now ask the new instance, which lists the old instance's legs, passes the
pages' signs of life on and the pages' commands to the old instance: the second desk
answers its call now. The first talks on well past the page timeout, holds and hangs up
through the new instance; the second's tab vanishes without a word (a crash, a lost
network) and the old instance ends its leg as a gone page's. The old instance then drains and leaves, and the report counts each
call once. The new instance's side of the handover link is also checked on its own."""
from __future__ import annotations

import threading

import pytest

from caruso_core.testing import eventually
from caruso_telephony.handover import Predecessors
from sip_peers import Sipp
from test_telephony_desk_phone import (AGENTS, WELCOME_MS, accept, chromium, desk_of,  # noqa: F401  (a fixture)
                                       inbound_packets, incoming_calls, open_centre)

PAGE_TIMEOUT = 5                 # telephony's default: less loses the legs of desks slowed by load
PACKETS_PER_SECOND = 50          # the browser's Opus frames are 20 ms


@pytest.fixture
def centre(caruso_host, caruso_client, tmp_path):
    """Pages gone after ``PAGE_TIMEOUT``; a dead tab's silence (the media timeout) is not what
    ends a leg here."""
    return open_centre(caruso_host, caruso_client, tmp_path, page_timeout=PAGE_TIMEOUT, media_timeout=60)


def test_a_drain_swap_keeps_the_desk_phones_calls_and_ends_a_vanished_tabs(centre, chromium, caruso_host,
                                                                         caruso_client, tmp_path):
    telephony, comm, url, base = centre
    for agent in AGENTS:
        telephony.service.set_phone_choice(agent, "browser")
    pages = {agent: desk_of(chromium, base, agent, choose=False) for agent in AGENTS}
    events = telephony.reader()
    callers = [Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
               for _ in AGENTS]
    for page in pages.values():                  # each desk rings with one of the calls
        page.wait_for_selector("#phone-accept:visible", timeout=60000)
    keeper, leaver = "ada", "bea"
    accept(pages[keeper])
    legs = {agent: telephony.service.browser_legs(agent)[0] for agent in AGENTS}
    old = telephony.host
    new = caruso_host("telephony", process=True, config=telephony.config, replace=True)
    for agent, state in ((keeper, "bridged"), (leaver, "ringing")):       # the old instance's legs, listed by the new
        (listed,) = telephony.service.browser_legs(agent)
        assert (listed["call"], listed["leg"], listed["state"]) == (legs[agent]["call"], legs[agent]["leg"], state)
    assert telephony.service.browser_legs(leaver)[0]["offer"] == legs[leaver]["offer"]
    heard = inbound_packets(pages[keeper])
    accept(pages[leaver])                        # its answer passed on to the old instance, its audio heard
    eventually(lambda: telephony.service.browser_legs(leaver)[0]["state"], lambda state: state == "bridged",
               what="the answered leg bridged by the communication server through the new instance")

    pages[leaver].evaluate("navigator.sendBeacon = () => true")      # its hang-up on leaving is lost
    pages[leaver].context.close()
    lost = events.next("leg_lost", legs[leaver]["call"])
    assert (lost["leg"], lost["reason"]) == (legs[leaver]["leg"], "Browser Gone")
    assert events.next("ended", legs[leaver]["call"])["by"] == "agent"

    page = pages[keeper]
    eventually(lambda: inbound_packets(page), lambda count: count > heard + 3 * PAGE_TIMEOUT * PACKETS_PER_SECOND,
               limit=30, what=f"the caller heard in the desk for {3 * PAGE_TIMEOUT}s after the swap")
    assert page.inner_text("#phone-state") == "connected"
    (still,) = telephony.service.browser_legs(keeper)
    assert (still["leg"], still["state"]) == (legs[keeper]["leg"], "bridged")
    assert "leg_lost" not in events.of(legs[keeper]["call"])
    page.click("#phone-hold")
    page.wait_for_selector("#phone-state:has-text('on hold')")
    assert telephony.service.browser_legs(keeper)[0]["holding"]
    page.click("#phone-hold")
    page.wait_for_selector("#phone-state:has-text('connected')")
    page.click("#phone-hangup")
    page.wait_for_selector("#phone-state:has-text('idle')")
    assert events.next("ended", legs[keeper]["call"])["by"] == "agent"
    for caller in callers:
        assert caller.wait() == 0, caller.log()

    assert eventually(lambda: old.process.poll(), lambda code: code is not None, limit=30,
                      what="the old instance leaving once drained") == 0, old.text()
    eventually(lambda: next(entry["health"] for entry in caruso_client.health()
                            if entry["instance_id"] == new.instance_id),
               lambda health: health["predecessors"] == 0 and health["public"],
               what="the new instance alone, on the public port")
    eventually(lambda: incoming_calls(url), lambda report: report == {"answered": 2, "abandoned": 0},
               what="the report counting each call once")
    assert telephony.service.calls() == []


def test_the_new_instance_lists_a_predecessors_browser_legs_and_says_whose_page_asked():
    """The new instance's side of the handover link on its own: legs listed per agent from
    the exchanged snapshot, the asking agents (and only they) named in the next reply."""
    draining = threading.Event()
    draining.set()                                    # every exchange answers at once
    predecessors = Predecessors(lambda event: None, lambda: {"udp": ["127.0.0.1", 5060]}, draining, lambda: None)
    leg = {"agent": "ada", "call": "c-1", "leg": "l-2", "state": "bridged", "holding": False}
    lost = {"agent": "ada", "call": "c-0", "leg": "l-1", "state": "lost", "reason": "No Media"}   # why a call ended
    predecessors.adopt({"token": "old", "calls": ["c-1"], "summaries": [], "browsers": [leg, lost]})
    predecessors.adopt({"token": "older", "calls": [], "summaries": []})        # an earlier version's state
    assert predecessors.browser_legs("bea") == []
    assert predecessors.browser_legs("ada") == [{key: value for key, value in listed.items() if key != "agent"}
                                                for listed in (leg, lost)]
    seen = predecessors.exchange("old", [], [], [], False, [leg, {**leg, "agent": "bea", "leg": "l-3"}])["seen"]
    assert list(seen) == ["ada"] and 0 <= seen["ada"] < 1
    assert predecessors.exchange("old", [], [], [], False, [])["seen"] == {}
    assert predecessors.browser_legs("ada") == []                               # the snapshot ended the leg
    assert predecessors.exchange("older", [], [], [], False)["seen"] == {}
