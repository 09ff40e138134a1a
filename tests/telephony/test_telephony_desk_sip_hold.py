"""Hold from the desk for an agent whose phone is a SIP phone, in Chromium: a SIPp caller goes
through the IVR and queue to ada's registered SIPp phone; the desk shows the call's time
counting up and Hold, holding gives the caller hold audio (telephony says ``holding``),
Resume takes the call back, and Complete ends it. The desk's Hold fits a 390-pixel phone
screen."""
from __future__ import annotations

import re

from caruso_core.testing import eventually
from sip_peers import Sipp
from test_telephony_desk_phone import (AGENTS, WELCOME_MS, centre, chromium, go_available,  # noqa: F401  (fixtures)
                                       signed_in)


def test_an_agent_on_a_sip_phone_holds_and_resumes_the_call_from_the_desk(centre, chromium, tmp_path):
    telephony, comm, _, base = centre
    answering = Sipp("phone_answers.xml", tmp_path, calls=1).start()
    telephony.service.set_phone("ada", "phone-ada", "secret-ada")
    registered = Sipp("phone_register.xml", tmp_path, telephony.target, auth=("phone-ada", "secret-ada"),
                      keys={"user": "phone-ada", "contact_port": answering.port, "expires": 300})
    assert registered.run() == 0, registered.log()
    page = signed_in(chromium, base, "ada", AGENTS["ada"])
    try:
        page.wait_for_url("**/")
        page.goto("/desk")
        go_available(page)
        caller = Sipp("caller_talks_queued.xml", tmp_path, telephony.target, service="100",
                      duration=WELCOME_MS).start()

        def line() -> dict | None:
            return next(({"call": call["call"], "holding": call["holding"]} for call in telephony.service.calls()
                         if call["bridged"]), None)

        call = eventually(line, limit=60, what="the caller bridged to ada's SIP phone")["call"]   # as ringing_desk
        hold = page.locator("form[action='/desk/hold'] button")
        hold.wait_for(timeout=15000)                                 # the desk shows the connected call
        assert hold.inner_text() == "Hold"
        timer = page.locator(".call-timer span")                    # the call's time, counting up
        started = timer.inner_text()
        assert re.fullmatch(r"\d+:[0-5]\d", started), started
        page.wait_for_function("shown => document.querySelector('.call-timer span').textContent !== shown",
                               arg=started)
        hold.click()
        page.wait_for_selector("form[action='/desk/hold'] .on-hold")
        assert line() == {"call": call, "holding": True}
        assert page.locator("form[action='/desk/hold'] button").inner_text() == "Resume"
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("form[action='/desk/hold'] button").is_visible()
        page.set_viewport_size({"width": 1366, "height": 900})
        page.click("form[action='/desk/hold'] button")
        page.wait_for_selector("form[action='/desk/hold'] button:has-text('Hold')")
        assert line() == {"call": call, "holding": False}
        page.select_option("form[action='/desk/complete'] select[name=disposition]", "resolved")
        page.click("form[action='/desk/complete'] button")
        assert caller.wait() == 0 and answering.wait() == 0, caller.log() + answering.log()
        assert telephony.service.calls() == []
    finally:
        page.context.close()


def test_hold_without_a_connected_call_is_refused(centre, chromium):
    _, _, _, base = centre
    page = signed_in(chromium, base, "bea", AGENTS["bea"])
    try:
        page.wait_for_url("**/")
        page.goto("/desk")
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        answer = page.request.post(f"{base}/desk/hold", form={"csrf": csrf, "interaction": "", "on": "true"})
        assert answer.status == 409 and "no call is connected to your phone" in answer.text()
        assert page.request.post(f"{base}/desk/hold", form={"interaction": "", "on": "true"}).status == 403
        assert page.request.post(f"{base}/desk/hold", form={"csrf": csrf, "on": "true" * 10}).status == 400
    finally:
        page.context.close()
