"""The phone in the agent desk, end to end: a SIPp caller goes through the IVR of the hosted
communication server and its queue; the agent accepts in the desk (Debian Chromium with a
fake microphone), talks over WebRTC bridged by rtpengine to the caller's plain RTP, mutes,
holds and hangs up; the report counts the call once. A tab closed while it rings sends
the call to the next agent."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from caruso_core.testing import eventually
from caruso_core.testing.commands import caruso
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.database import open_database
from caruso_frontoffice.passwords import Cost, Passwords
from sip_peers import Sipp, rtp_range
from telephony_hosts import host_telephony

SCRIPTS = Path(__file__).parent.parent / "comm" / "scripts"
QUEUES = [{"name": "power"}, {"name": "general"}]
MENU = {"script": "hotline", "numbers": ["100"], "default": "general", "routes": {"power": "power"}}
AGENTS = {"ada": "ada-secret-1", "bea": "bea-secret-1"}
DESK = {"capacity": {"voice": 1}, "dispositions": ["resolved"]}
WELCOME_MS = 1500


@pytest.fixture
def centre(caruso_host, caruso_client, tmp_path):
    """Storage, scripts, the communication server with its voice channel, telephony (browser
    pages count as gone after 3 s) and a front office whose agents are ada and bea."""
    caruso_host("storage")
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    telephony = host_telephony(caruso_host, caruso_client, numbers=["100"], ring_limit=60,
                               media={"rtp_ports": rtp_range(512), "rtp_timeout": 20},
                               browser={"page_timeout": 3, "media_timeout": 5})
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    caruso_host("comm", config={"db": url, "queues": QUEUES, "ivr": [MENU],
                                "channels": {"voice": {"position_every": 0}}})
    office_db = f"sqlite:///{tmp_path / 'office.db'}"
    accounts = Accounts(open_database(office_db), Passwords(Cost(n=2 ** 10)))
    for name, password in AGENTS.items():
        accounts.add(name, "agent", password)
    caruso_host("frontoffice", config={"address": "http://127.0.0.1:0", "db": office_db, "desk": DESK})
    return telephony, caruso_client.get("caruso.comm/1"), url, caruso_client.get("frontoffice").url()


def desk_of(chromium, base: str, agent: str):
    """A tab signed in as ``agent`` on the desk, phone set to this browser, available."""
    context = chromium.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/signin")
    page.fill("input[name=name]", agent)
    page.fill("input[name=password]", AGENTS[agent])
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    page.goto("/desk")
    page.select_option("#phone select[name=kind]", "browser")
    page.click("#phone button:has-text('Change')")
    page.wait_for_selector("#phone-state")
    page.click("button[value=available]")
    page.wait_for_selector(".desk-status .state.available")
    return page


def inbound_packets(page) -> int:
    return page.evaluate("""async () => {
        let packets = 0;
        (await window.deskPhone.pc.getStats()).forEach(s => { if (s.type === 'inbound-rtp') packets += s.packetsReceived; });
        return packets; }""")


def incoming_calls(url: str) -> dict[str, int]:
    done = caruso("report", "incoming-calls", "--db", url, "--period", "day", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    return {name: sum(int(row[name]) for row in rows) for name in ("answered", "abandoned")}


def test_an_agent_answers_talks_mutes_holds_and_hangs_up_in_the_desk(centre, chromium, tmp_path):
    telephony, comm, url, base = centre
    page = desk_of(chromium, base, "ada")
    events = telephony.reader()
    caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
    page.wait_for_selector("#phone-accept:visible", timeout=30000)
    assert page.inner_text("#phone-state") == "ringing"
    assert page.inner_text("#phone-remote").startswith("+3360000")
    page.click("#phone-accept")
    page.wait_for_selector("#phone-state:has-text('connected')", timeout=15000)
    first = eventually(lambda: inbound_packets(page), lambda count: count > 20, what="the caller's audio in the page")
    eventually(lambda: inbound_packets(page), lambda count: count > first + 50, what="more of the caller's audio")
    shots = Path(os.environ.get("CARUSO_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "frontoffice-desk-phone.png"))
    page.click("#phone-mute")
    assert page.evaluate("window.deskPhone.pc.getSenders()[0].track.enabled") is False
    assert page.get_attribute("#phone-mute", "aria-pressed") == "true"
    page.click("#phone-hold")
    page.wait_for_selector("#phone-state:has-text('on hold')")
    page.click("#phone-hold")
    page.wait_for_selector("#phone-state:has-text('connected')")
    page.click("#phone-hangup")
    page.wait_for_selector("#phone-state:has-text('idle')")
    ended = events.next("ended")
    assert ended["by"] == "agent"
    legs = {tag: stats for tag, stats in ended["media"].items() if tag.startswith("l-")}
    assert len(legs) == 1 and next(iter(legs.values()))["sent_packets"] > 50     # RTP from the browser's leg
    assert caller.wait() == 0, caller.log()
    eventually(lambda: incoming_calls(url), lambda report: report == {"answered": 1, "abandoned": 0},
               what="the report counting the call once")
    assert telephony.service.calls() == []


def test_a_tab_closed_while_it_rings_sends_the_call_to_the_next_agent(centre, chromium, tmp_path):
    telephony, comm, url, base = centre
    pages = {agent: desk_of(chromium, base, agent) for agent in AGENTS}
    caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
    ringing = eventually(lambda: [a for a, p in pages.items() if p.locator("#phone-accept").is_visible()],
                         lambda found: len(found) == 1, limit=30, what="one desk ringing")[0]
    pages[ringing].context.close()
    other = next(agent for agent in AGENTS if agent != ringing)
    pages[other].wait_for_selector("#phone-accept:visible", timeout=30000)
    assert comm.agent(ringing)["status"] == "break"          # not ready: its phone went away
    pages[other].click("#phone-accept")
    pages[other].wait_for_selector("#phone-state:has-text('connected')", timeout=15000)
    eventually(lambda: inbound_packets(pages[other]), lambda count: count > 20, what="the caller's audio")
    pages[other].click("#phone-hangup")
    assert caller.wait() == 0, caller.log()
    pages[other].context.close()
