"""The phone in the agent desk, end to end: a SIPp caller goes through the IVR of the hosted
communication server and its queue; the agent accepts in the desk (Debian Chromium with a
fake microphone), talks over WebRTC bridged by rtpengine to the caller's plain RTP, mutes,
holds and transfers it to another queue, where the next agent answers and hangs up; the
report counts the call once. Phones are chosen on the desk, at sign-in and by an
administrator; a tab closed while it rings sends the call to the next agent."""
from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError, expect

from caruso_core.testing import eventually
from caruso_core.testing.commands import caruso
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.database import open_database
from caruso_frontoffice.passwords import Cost, Passwords
from sip_peers import Sipp, rtp_range
from telephony_hosts import host_telephony
from voice_centre import bridges_late

SCRIPTS = Path(__file__).parent.parent / "comm" / "scripts"
QUEUES = [{"name": "power"}, {"name": "general"}]
MENU = {"script": "hotline", "numbers": ["100"], "default": "general", "routes": {"power": "power"}}
AGENTS = {"ada": "ada-secret-1", "bea": "bea-secret-1"}
ROOT_PASSWORD = "root-secret-1"
DESK = {"capacity": {"voice": 1}, "dispositions": ["resolved"], "phone_ice_limit": 3}   # ICE: 3 s, below media_timeout
WELCOME_MS = 1500
QUICK_COST = {"n": 2 ** 10}                                       # scrypt at 1 ms a hash


@pytest.fixture
def chromium(chromium_calls):
    """The desks of these tests hold calls in their phone: the full browser (see
    :mod:`caruso_core.testing.browser`)."""
    return chromium_calls


@pytest.fixture
def centre(caruso_host, caruso_client, tmp_path):
    """A centre of :func:`open_centre` with telephony's default browser timeouts, 5 s: a
    shorter ``page_timeout`` also loses the legs of desks that reload slowly."""
    return open_centre(caruso_host, caruso_client, tmp_path, page_timeout=5, media_timeout=5)


def open_centre(caruso_host, caruso_client, tmp_path, **browser: float):
    """Storage, scripts, the communication server with its voice channel, telephony (its
    ``browser`` settings) and a front office whose agents are ada and bea: the telephony
    service, the communication server, the event log's URL and the front office's URL."""
    caruso_host("storage")
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    telephony = host_telephony(caruso_host, caruso_client, numbers=["100"], ring_limit=60,
                               media={"rtp_ports": rtp_range(512), "rtp_timeout": 20}, browser=browser)
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    caruso_host("comm", config={"db": url, "queues": QUEUES, "ivr": [MENU],
                                "channels": {"voice": {"position_every": 0}}})
    office_db = f"sqlite:///{tmp_path / 'office.db'}"
    accounts = Accounts(open_database(office_db), Passwords(Cost(**QUICK_COST)))
    for name, password in AGENTS.items():
        accounts.add(name, "agent", password)
    accounts.add("root", "admin", ROOT_PASSWORD)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                       "address": "http://127.0.0.1:0", "db": office_db, "desk": DESK})
    return telephony, caruso_client.get("caruso.comm/1"), url, caruso_client.get("frontoffice").url()


def signed_in(chromium, base: str, name: str, password: str, **phone: str):
    """A tab signed in as ``name``, choosing ``phone`` (``phone``, ``number``) on the sign-in page."""
    context = chromium.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/signin")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    if "phone" in phone:
        page.select_option("select[name=phone]", phone["phone"])
    if "number" in phone:
        page.fill("input[name=number]", phone["number"])
    page.click("button[type=submit]")
    return page


def desk_of(chromium, base: str, agent: str, choose: bool = True, available: bool = True):
    """A tab signed in as ``agent`` on the desk, its phone set to this browser on the desk's
    phone card unless ``choose`` is false, available unless ``available`` is false."""
    page = signed_in(chromium, base, agent, AGENTS[agent])
    page.wait_for_url("**/")
    page.goto("/desk")
    if choose:
        page.select_option("#phone select[name=kind]", "browser")
        page.click("#phone button:has-text('Change')")
    page.wait_for_selector("#phone-state")
    if available:
        go_available(page)
    return page


def go_available(page) -> None:
    page.click("button[value=available]")
    page.wait_for_selector(".desk-status .state.available")


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


def ringing_desk(pages: dict) -> str:
    return eventually(lambda: [agent for agent, page in pages.items() if page.locator("#phone-accept").is_visible()],
                      lambda found: len(found) == 1, limit=60, what="one desk ringing")[0]


def phone_error(page, says: str, timeout: float = 30000) -> None:
    """Wait until the phone's error starts with ``says``. The desk reloads once a call has
    ended and the new page shows the error again, so the text is awaited across pages."""
    expect(page.locator("#phone-error")).to_have_text(re.compile("^" + re.escape(says)), timeout=timeout)


def accept(page) -> int:
    """Accept the ringing call; the number of inbound RTP packets once the caller is heard.
    A call not connected within 30 s fails with what the phone shows (its state and error)."""
    page.click("#phone-accept")
    try:
        page.wait_for_selector("#phone-state:has-text('connected')", timeout=30000)
    except PlaywrightError as error:
        raise AssertionError(f"the accepted call did not connect: the phone shows {page.inner_text('#phone-state')!r}, "
                             f"its error {page.text_content('#phone-error')!r}") from error
    return caller_heard(page)


def caller_heard(page) -> int:
    """The number of inbound RTP packets once the caller is heard in the page."""
    return eventually(lambda: inbound_packets(page), lambda count: count > 20, what="the caller's audio in the page")


def answered_after_the_stream(page):
    """A route handler that passes the hold request on and lets the page have the answer
    only once the desk's stream has shown the hold: the page must then keep the hold it
    asked for, as it must when a loaded machine delivers the stream's report first."""
    def handler(route) -> None:
        response = route.fetch()
        if response.ok:
            page.wait_for_selector("#phone-hold[aria-pressed=true]")
        route.fulfill(response=response)
    return handler


def test_an_agent_answers_talks_mutes_holds_transfers_and_the_next_hangs_up(centre, chromium, tmp_path,
                                                                            monkeypatch):
    telephony, comm, url, base = centre
    pages = {agent: desk_of(chromium, base, agent) for agent in AGENTS}
    events = telephony.reader()
    bridge = bridges_late(monkeypatch)
    caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
    answering = ringing_desk(pages)
    page = pages[answering]
    assert page.inner_text("#phone-state") == "ringing"
    assert page.inner_text("#phone-remote").startswith("+3360000")
    page.click("#phone-accept")
    page.wait_for_selector("#phone-state:has-text('connected')")
    assert page.is_visible("#phone-hangup") and page.is_hidden("#phone-hold")     # answered, not bridged yet
    bridge.set()
    page.wait_for_selector("#phone-hold:visible")
    first = caller_heard(page)
    eventually(lambda: inbound_packets(page), lambda count: count > first + 50, what="more of the caller's audio")
    if os.environ.get("CARUSO_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["CARUSO_SCREENSHOTS"]) / "frontoffice-desk-phone.png"))
    page.click("#phone-mute")
    assert page.evaluate("window.deskPhone.pc.getSenders()[0].track.enabled") is False
    assert page.get_attribute("#phone-mute", "aria-pressed") == "true"
    page.route("**/desk/phone/hold", answered_after_the_stream(page), times=1)
    with page.expect_request_finished(lambda request: request.url.endswith("/desk/phone/hold")):
        page.click("#phone-hold")                               # the answer has reached the page
    page.evaluate("() => new Promise(done => setTimeout(done))")  # and the page has handled it
    assert page.inner_text("#phone-state") == "on hold", page.inner_text("#phone-error")
    page.click("#phone-hold")
    page.wait_for_selector("#phone-state:has-text('connected')")
    assert not telephony.service.calls()[0]["holding"]
    page.fill("input[name=find]", "nobody by this name")            # Find the caller: drawn in place
    page.click("button:has-text('Find')")
    page.wait_for_selector("p.hint:has-text('No customer matches “nobody by this name”')")
    assert page.inner_text("#phone-state") == "connected" and "find=nobody" in page.url      # the page stayed
    colleague = next(agent for agent in AGENTS if agent != answering)
    transfer = page.locator("form[action='/desk/transfer']:has(select[name=colleague])")
    transfer.locator("select").select_option(colleague)
    transfer.locator("button").click()                          # sent in the background: the page stays
    leg = events.next("leg_ended")["leg"]                       # the browser's leg, ended by the transfer
    assert ringing_desk(pages) == colleague                     # the ACD offers the call to the colleague
    page = pages[colleague]
    heard = accept(page)
    eventually(lambda: inbound_packets(page), lambda count: count > heard + 50, what="more of the caller's audio")
    page.click("#phone-hangup")
    page.wait_for_selector("#phone-state:has-text('idle')")
    ended = events.next("ended")
    assert ended["by"] == "agent"
    legs = {tag: stats for tag, stats in ended["media"].items() if tag.startswith("l-") and tag != leg}
    assert len(legs) == 1 and next(iter(legs.values()))["sent_packets"] > 50     # RTP from the browser's leg
    assert caller.wait() == 0, caller.log()
    eventually(lambda: incoming_calls(url), lambda report: report == {"answered": 1, "abandoned": 0},
               what="the report counting the call once")
    assert telephony.service.calls() == []


def test_phones_chosen_by_the_admin_and_at_sign_in_and_a_tab_closed_while_ringing(centre, chromium, tmp_path):
    """ada's phone is set by an administrator, bea's when she signs in; the tab that rings
    first is closed, and the call goes to the other agent."""
    telephony, comm, url, base = centre
    admin = signed_in(chromium, base, "root", ROOT_PASSWORD)
    admin.wait_for_url("**/")
    admin.goto("/admin/users")
    row = admin.locator("tr", has_text="ada")
    row.locator("select[name=kind]").select_option("number")
    row.locator("input[name=number]").fill("12ab")
    row.locator("button:has-text('Set')").click()
    assert "The phone of ada was not changed: an external number is 2 to 20 digits" in admin.inner_text(".error")
    row = admin.locator("tr", has_text="ada")
    row.locator("select[name=kind]").select_option("browser")
    row.locator("button:has-text('Set')").click()
    assert admin.inner_text(".notice") == "The phone of ada is changed."
    assert telephony.service.phone_choice("ada")["kind"] == "browser"
    assert admin.locator("tr", has_text="root").locator("select[name=kind]").count() == 0   # not an agent
    admin.context.close()
    refused = signed_in(chromium, base, "bea", AGENTS["bea"], phone="number", number="")
    assert "Your phone could not be set" in refused.inner_text(".error")
    refused.context.close()
    signed_in(chromium, base, "bea", AGENTS["bea"], phone="browser").context.close()
    assert telephony.service.phone_choice("bea")["kind"] == "browser"
    pages = {agent: desk_of(chromium, base, agent, choose=False) for agent in AGENTS}
    caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
    ringing = ringing_desk(pages)
    pages[ringing].context.close()
    other = next(agent for agent in AGENTS if agent != ringing)
    pages[other].wait_for_selector("#phone-accept:visible", timeout=60000)
    assert comm.agent(ringing)["status"] == "break"          # not ready: its phone went away
    accept(pages[other])
    pages[other].click("#phone-hangup")
    pages[other].wait_for_selector("#phone-state:has-text('idle')")      # its call torn down before the close
    assert caller.wait() == 0, caller.log()
    pages[other].context.close()


def rings_for_a_stale_report(page, call: str, leg: str) -> bool:
    """Whether the phone rings when the desk's stream reports ``leg`` ringing (as a report
    computed before the page's end of that leg reached the server does); asked again on
    the next page if the desk reloads meanwhile (its agent's status changed)."""
    def ask() -> bool | None:
        try:
            return page.evaluate("""([call, leg]) => {
                const legs = [{call: call, leg: leg, state: "ringing", offer: "v=0", caller: "+33600001"}];
                window.deskStream.source.dispatchEvent(new MessageEvent("phone", {data: JSON.stringify({legs: legs})}));
                return !document.getElementById("phone-accept").hidden; }""", [call, leg])
        except PlaywrightError:
            return None
    return eventually(ask, lambda rings: rings is not None, what="the desk's answer to a stale report")


def test_a_refused_microphone_is_explained_and_the_call_goes_to_the_next_agent(centre, chromium, tmp_path):
    """The browser's refusal is played by the page's own getUserMedia failing as Chromium's does
    (a headless browser has nobody to click "Block")."""
    telephony, comm, url, base = centre
    refusing = desk_of(chromium, base, "ada")
    refusing.context.add_init_script("""navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException("Permission denied", "NotAllowedError"));""")
    refusing.reload()
    other = desk_of(chromium, base, "bea", available=False)
    events = telephony.reader()
    caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
    refusing.wait_for_selector("#phone-accept:visible", timeout=60000)
    with refusing.expect_navigation():                          # the desk reloads once the call is gone
        refusing.click("#phone-accept")
    phone_error(refusing, "The browser refused the microphone (NotAllowedError)")
    refused = events.next("leg_failed")
    assert refused["reason"] == "Microphone Refused"
    assert rings_for_a_stale_report(refusing, refused["call"], refused["leg"]) is False
    assert refusing.inner_text("#phone-error").startswith("The browser refused the microphone")
    eventually(lambda: comm.agent("ada"), lambda agent: agent["status"] == "break", what="ada not ready")
    go_available(other)
    other.wait_for_selector("#phone-accept:visible", timeout=60000)
    accept(other)
    other.click("#phone-hangup")
    assert caller.wait() == 0, caller.log()
    for page in (refusing, other):
        page.context.close()
