"""The agent desktop in headless Chromium against the real communication server, script
engine and storage service: status, screen pop, accept, the queue's script to its end,
notes (also those not saved), disposition and wrap-up; a transferred call's wrap-up; a hot-swap of the script engine mid-script; web chat,
voicemail callbacks and outbound preview calls.

Screenshots are taken only with ``CARUSO_SCREENSHOTS=docs/img``: they replace the ones
of docs/frontoffice.md.
"""
import pytest

from caruso_core.testing import eventually
from frontoffice_support import PHONE, QUEUES, SCRIPTS, accounts_of, answer, wait_for_offer

pytestmark = pytest.mark.browser


def scripts_config(tmp_path, name):
    return {"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / name}"}


@pytest.fixture
def comm(caruso_host, caruso_client, tmp_path):
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES,
                                "channels": {"webchat": {"queue": "chat", "port": 0}}})
    return caruso_client.get("caruso.comm/1")


@pytest.fixture
def scripts(caruso_host, caruso_client, tmp_path):
    return caruso_host("scripts", config=scripts_config(tmp_path, "scripts-1.db"))


@pytest.fixture
def desk(tab, storage, comm, scripts):
    """Ada signed in and available at her desk."""
    one = tab()
    page = one.sign_in("ada")
    page.wait_for_url("**/")
    page.click("nav >> text=Desk")
    page.wait_for_url("**/desk")
    one.check_layout("desk, logged out")
    assert page.inner_text(".desk-status .state") == "logged out"
    page.click("button:has-text('Available')")
    page.wait_for_selector(".desk-status .state.available")
    return one


def test_an_agent_takes_a_call_runs_the_script_and_completes_it(desk, comm, storage, caruso_client, tab):
    page = desk.page
    assert comm.agent("ada")["skills"] == {"billing": 2}
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    wait_for_offer(page)                                             # no reload by the test
    desk.check_layout("offer")
    assert "Acme Utilities" in page.inner_text(".desk-customer")     # the screen pop
    assert page.get_attribute(".desk-customer a", "href") == "/views/customer-360/show?id=1"
    desk.shot("frontoffice-desk-offer.png")
    page.click("button:has-text('Accept')")
    page.wait_for_selector(".desk-script")
    desk.check_layout("accepted")
    assert comm.interaction(call)["state"] == "connected"
    assert "Greet Acme Utilities and confirm their city (Berlin)." in page.inner_text(".desk-script")
    answer(page)
    answer(page, choose="A payment")
    answer(page, text="<b>Why</b> was it debited twice?")
    page.fill("textarea[name=notes]", "Debited twice in March; <script>x</script>")
    page.click("button:has-text('Save notes')")
    page.wait_for_url("**/desk?i=**")
    assert page.input_value("textarea[name=notes]") == "Debited twice in March; <script>x</script>"
    desk.shot("frontoffice-desk-script.png")
    page.fill("textarea[name=notes]", "Debited twice in March; <script>x</script>; wants a refund")
    answer(page, choose="Yes")                                     # the notes not saved go with it
    assert page.input_value("textarea[name=notes]") == "Debited twice in March; <script>x</script>; wants a refund"
    assert "The script has ended: callback_promised." in page.inner_text(".desk-script")
    [session] = [s for s in caruso_client.get("caruso.scripts/1").sessions(None) if s["script"] == "billing_call"]
    assert (session["status"], session["outcome"]) == ("ended", "callback_promised")
    page.select_option("select[name=disposition]", "callback")
    page.click("button:has-text('Complete')")
    page.wait_for_selector("button:has-text('End wrap-up')")
    desk.check_layout("wrap-up")
    complete = [e for e in comm.events(0, 0)["events"] if e["event"] == "complete"]
    assert [(e["interaction"], e["data"]["disposition"]) for e in complete] == [(call, "callback")]
    [note] = storage.contact_history("Customer", 1)
    assert note["summary"] == "Notes (callback): Debited twice in March; <script>x</script>; wants a refund"
    page.click("button:has-text('End wrap-up')")
    page.wait_for_selector("text=Waiting for the next interaction")
    assert comm.agent("ada")["state"] == "idle"
    reason = "LunchWithTheNewColleaguesFromTheBillingTeamAtNoonOnFridays"     # no space, no hyphen: one word
    page.fill("input[name=reason]", reason)
    page.click("button:has-text('Break')")
    page.wait_for_selector(".desk-status .state.break")
    assert (comm.agent("ada")["status"], comm.agent("ada")["reason"]) == ("break", reason)
    phone = tab(PHONE)
    phone.sign_in("ada").wait_for_url("**/")
    assert reason in phone.open("/desk").inner_text(".desk-status")        # wrapped: fits 390 px (checked by open)
    page.click("button:has-text('Log out')")
    page.wait_for_selector(".desk-status .state.logged_out")
    assert comm.agent("ada")["status"] == "logged_out"


def test_a_transferred_call_is_wrapped_up_and_its_notes_filed(desk, comm, storage):
    """The agent wraps up a call she handed to another queue, which goes on with another agent."""
    page = desk.page
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    wait_for_offer(page)
    page.click("button:has-text('Accept')")
    page.wait_for_selector(".desk-script")
    page.click("button:has-text('Break')")                      # so that sales offers it to Bob
    page.wait_for_selector(".desk-status .state.break")
    comm.login("bob", {}, {"voice": 1})
    page.fill("textarea[name=notes]", "Wants to change the tariff")      # not saved: goes with Transfer
    page.select_option("select[name=queue]", "sales")
    page.click("button:has-text('Transfer to queue')")
    page.wait_for_selector("h2:has-text('Wrap-up')")
    assert not page.locator("button:has-text('Complete')").count()      # Bob's call now, not hers
    assert page.input_value(".desk-interaction textarea[name=notes]") == "Wants to change the tariff"
    desk.check_layout("wrap-up of a transferred call")
    page.click("button:has-text('End wrap-up')")
    page.wait_for_selector("h2:has-text('Wrap-up')", state="detached")
    assert comm.agent("ada")["wrap_up_left"] == {} and comm.agent("bob")["interactions"] == [call]
    [note] = storage.contact_history("Customer", 1)
    assert (note["summary"], note["reference"]) == ("Notes: Wants to change the tariff", call)


def test_the_colleague_list_follows_colleagues_becoming_free_without_a_reload(desk, comm):
    """Drawn with nobody free, the transfer list gains bob once he is available, from the push
    stream (the desk is not drawn again); it does not change under the agent's hand while she
    chooses, and follows again after. Notes typed just before *Find the caller* are kept."""
    page = desk.page
    call = comm.arrive("billing")["id"]
    wait_for_offer(page)
    page.click("button:has-text('Accept')")
    page.wait_for_selector(".desk-script")
    hint, bob = page.locator(".no-colleague"), "select[name=colleague] option[value=bob]"
    assert hint.is_visible() and hint.inner_text() == "No colleague is free to take it now."
    page.evaluate("document.getElementById('desk').dataset.drawn = 'once'")
    comm.login("bob", {}, {"voice": 1})
    comm.set_status("bob", "available")
    page.wait_for_selector(bob, state="attached")
    assert page.locator(bob).inner_text() == "bob · ready" and hint.is_hidden()
    assert page.evaluate("document.getElementById('desk').dataset.drawn") == "once"     # in place
    page.focus("select[name=colleague]")
    comm.set_status("bob", "break")
    eventually(lambda: page.evaluate("window.deskStream.last.desk.colleagues.voice.length") == 0,
               what="the stream saying bob is on break")
    assert page.locator(bob).count() == 1                       # not while she is choosing
    page.evaluate("document.activeElement.blur()")
    page.wait_for_selector(bob, state="detached")
    assert hint.is_visible()
    comm.set_status("bob", "available")
    page.wait_for_selector(bob, state="attached")
    page.fill(".desk-notes textarea[name=notes]", "Moves to Bonn in May")       # and at once: Find the caller
    page.fill("input[name=find]", "acme")
    page.click("button:has-text('Find')")
    page.wait_for_url("**find=acme**")
    assert page.input_value(".desk-notes textarea[name=notes]") == "Moves to Bonn in May"     # saved first
    page.select_option("select[name=colleague]", "bob")
    page.click("button:has-text('Transfer to colleague')")
    page.wait_for_selector("h2:has-text('Wrap-up')")
    assert comm.interaction(call)["offers"] == ["bob"]
    desk.check_layout("wrap-up of a call handed to a colleague")


def test_a_hot_swap_of_the_script_engine_mid_script_loses_nothing(desk, comm, caruso_host, caruso_client,
                                                                    tmp_path):
    page = desk.page
    comm.arrive("billing", from_="desk@acme.example")                 # found by e-mail address
    wait_for_offer(page)
    assert "Acme Utilities" in page.inner_text(".desk-customer")
    page.click("button:has-text('Accept')")
    page.wait_for_selector(".desk-script")
    answer(page)
    answer(page, choose="The amount of the bill")
    assert "What exactly does the customer ask?" in page.inner_text(".desk-script")
    before = caruso_client.lookup("scripts")[0]["instance_id"]
    standby = caruso_host("scripts", version="1.0.1", standby=True, config=scripts_config(tmp_path, "scripts-2.db"))
    caruso_client.swap("scripts", standby.instance_id)
    assert caruso_client.lookup("scripts")[0]["instance_id"] == standby.instance_id != before
    [moved] = caruso_client.get("caruso.scripts/1").sessions()          # asked of the new instance
    assert (moved["step"], moved["status"]) == ("detail", "active")
    answer(page, text="Why is the bill higher than last year?")      # the page shown before the swap
    assert "Does the customer want a call back?" in page.inner_text(".desk-script")
    page.reload()
    desk.check_layout("after the swap")
    assert "Does the customer want a call back?" in page.inner_text(".desk-script")
    answer(page, choose="No")
    assert "The script has ended: settled." in page.inner_text(".desk-script")
    assert "Thank Acme Utilities for calling." in page.inner_text(".desk-script")
    [session] = caruso_client.get("caruso.scripts/1").sessions(None)
    assert session["outcome"] == "settled"


def test_web_chat_voicemail_callback_and_outbound_preview(desk, comm, tab, tmp_path):
    from playwright.sync_api import expect

    page = desk.page
    accounts_of(f"sqlite:///{tmp_path / 'served.db'}").add("berta", "customer", "berta-secret-1", "customer_id=2")
    customer = tab(PHONE)                                             # Berta, signed in to the portal
    customer.sign_in("berta", "berta-secret-1").wait_for_url("**/portal")
    customer.page.click("text=Chat with us")
    customer.page.wait_for_url(comm.channels()["webchat"]["url"] + "/")   # the pass left the address bar
    assert customer.page.locator("#signed-in").is_visible()
    customer.page.fill("#first", "Is my <i>contract</i> still active?")
    customer.page.click("#start button")
    wait_for_offer(page)
    assert "Web chat" in page.inner_text(".desk-interaction")
    assert "Berta Brandt" in page.inner_text(".desk-customer")          # the customer who signed in
    assert page.inner_text(".desk-interaction ol.messages.offered li.customer") == \
        "customer Is my <i>contract</i> still active?"                  # what the customer wrote, before Accept
    page.click("button:has-text('Accept')")
    page.wait_for_selector(".desk-chat")
    assert "Is my <i>contract</i> still active?" in page.inner_text(".desk-chat ol.messages")
    page.fill("textarea[name=text]", "Yes, until <b>December</b>.")
    reply = page.eval_on_selector("form[action='/desk/send']", "form => Object.fromEntries(new FormData(form))")
    page.click("button:has-text('Send')")
    page.wait_for_selector(".desk-chat li.agent")
    expect(customer.page.locator("#log")).to_contain_text("agent:Yes, until <b>December</b>.")
    again = page.request.post("/desk/send", form=reply, max_redirects=0)   # the same form again (a browser's retry)
    assert again.status == 303
    oversized = page.request.post("/desk/send", form={**reply, "_once": "x" * 200}, max_redirects=0)
    assert oversized.status == 400 and "at most 100 characters" in oversized.text()          # refused, not sent
    customer.check_layout("web chat page")
    page.fill("textarea[name=text]", "Anything else I")            # a draft the next message must not take away
    customer.page.fill("#text", "Thanks!")
    customer.page.click("#write button")
    page.wait_for_selector(".desk-chat li:has-text('Thanks!')")      # the new message shows without a reload
    assert page.input_value("textarea[name=text]") == "Anything else I"
    assert page.evaluate("document.activeElement.name") == "text"    # still typing there
    assert page.locator(".desk-chat li.agent").count() == 1           # the reply went once
    assert customer.page.inner_text("#log").count("Yes, until") == 1
    desk.check_layout("web chat")
    desk.shot("frontoffice-desk-chat.png")
    phone = tab(PHONE)                                                # the same desk on a phone
    phone.sign_in("ada").wait_for_url("**/")
    assert "Yes, until <b>December</b>." in phone.open("/desk").inner_text(".desk-chat")
    tops = phone.page.evaluate("""() => ['.desk-interaction', '.desk-chat', '.desk-customer', '.desk-notes']
        .map(card => document.querySelector(card).getBoundingClientRect().top)""")
    assert tops == sorted(tops), tops                          # one column: the customer before the notes
    wide = page.evaluate("""() => ['.desk-customer', '.desk-notes']
        .map(card => document.querySelector(card).getBoundingClientRect().left)""")
    assert wide[0] > wide[1], wide                             # on the desktop its own column, on the right
    page.select_option("select[name=disposition]", "resolved")
    page.click("button:has-text('Complete')")
    page.wait_for_selector("text=Waiting for the next interaction")      # the chat queue has no wrap-up
    expect(customer.page.locator("#portal-again")).to_be_visible()       # another chat as Berta: from the portal

    comm.leave_voicemail("billing", "Please call me back about invoice 42", caller="+49 30 1234567")
    wait_for_offer(page)
    assert "Voicemail callback" in page.inner_text(".desk-interaction")
    assert "Please call me back about invoice 42" in page.inner_text("blockquote.voicemail")
    assert "Acme Utilities" in page.inner_text(".desk-customer")
    desk.check_layout("voicemail callback")
    page.click("button:has-text('Reject')")
    page.wait_for_selector("text=Waiting for the next interaction")

    comm.add_campaign("spring", "sales", contacts_csv="number,customer\n+4930555000,1\n", pacing="preview")
    comm.campaign("spring", "start")
    wait_for_offer(page)
    assert "Outbound call" in page.inner_text(".desk-interaction")
    assert "+4930555000" in page.inner_text(".desk-interaction")
    assert "Acme Utilities" in page.inner_text(".desk-customer")
    desk.check_layout("outbound preview")


def test_a_desk_whose_stream_the_browser_gave_up_says_so_and_comes_back_by_itself(desk, comm):
    """A stream answered with an error (a proxy's 503, a front office restarting) is given up
    for good by the browser: the desk says it lost its connection, and reloads once the front
    office answers again, so the next offer still shows without the agent doing anything."""
    page = desk.page
    refused = []

    def refuse(route):
        refused.append(route.request.url)
        route.fulfill(status=503, body="busy")

    page.route("**/desk/stream", refuse)
    page.reload()
    page.wait_for_selector("#desk-lost", state="visible")
    assert page.evaluate("window.deskStream.source.readyState") == 2          # CLOSED: no retry by the browser
    page.unroute("**/desk/stream")
    comm.arrive("billing", from_="+49 30 1234567")
    wait_for_offer(page)                                                       # no reload by the test
    assert page.locator("#desk-lost").is_hidden() and len(refused) >= 1


def test_a_desk_that_was_not_left_after_all_follows_its_changes_again(desk, comm):
    """A navigation the page announced (beforeunload) but that never happened, such as one
    cancelled, holds the desk's reloads back only for a while: the next offer still shows."""
    page = desk.page
    page.evaluate("window.dispatchEvent(new Event('beforeunload'))")
    comm.arrive("billing", from_="+49 30 1234567")
    page.wait_for_selector(".desk-interaction .state.offered", timeout=45000)   # no reload by the test
