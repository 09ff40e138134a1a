"""The desk's completion and wrap-up in headless Chromium against the real communication
server, script engine and storage service: the dispositions a queue lists (a forged one
refused), the disposition and next action suggested by the end of the dialog script (the
next action made the agent's follow-up task for the customer; a forged due date refused), the
wrap-up countdown and a campaign call's accept window counting down from the server's
remaining time (also after a reload), and an auto-accepted campaign call that starts the
queue's script as accepting does, and whose follow-up is made and notes are filed at the end of
the wrap-up when the caller hung up.
"""
import datetime
import math
from pathlib import Path

import pytest
from playwright.sync_api import expect

from frontoffice_support import PHONE, answer, wait_for_offer

SOON = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=5)).isoformat()   # a follow-up's due date

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 768}
SCRIPTS = Path(__file__).parent / "wrapup_scripts"
BILLING = ["paid", "promise to pay", "dispute"]
QUEUES = [{"name": "billing", "skills": {"billing": 1}, "wrap_up": 300, "dispositions": BILLING},
          {"name": "sales", "wrap_up": 300}]
ANSWERS = {"answer_rate": 1.0, "ring": 0.2, "seed": 3}        # the sim dialer: every contact answers


@pytest.fixture
def comm(caruso_host, caruso_client, tmp_path):
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES})
    return caruso_client.get("caruso.comm/1")


@pytest.fixture
def desk(tab, storage, comm, caruso_host, tmp_path):
    """``desk(viewport)``: Ada signed in and available at her desk."""
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})

    def open_desk(viewport=WIDE):
        one = tab(viewport)
        one.sign_in("ada").wait_for_url("**/")
        one.open("/desk").click("button:has-text('Available')")
        one.page.wait_for_selector(".desk-status .state.available")
        return one
    return open_desk


def countdown(page, selector):
    return int(page.inner_text(f"{selector} [data-countdown]"))


def wait_below(page, selector, value):
    """Wait until the countdown at ``selector`` shows less than ``value``."""
    page.wait_for_function(f"""() => {{ const c = document.querySelector("{selector} [data-countdown]");
                                        return c && parseInt(c.textContent, 10) < {value}; }}""")


def reloaded_countdown(desk, selector, left):
    """Reload the desk: the countdown at ``selector`` shows what the server has left
    (``left()``, read just before and just after)."""
    before = left()
    desk.page.reload()
    shown = countdown(desk.page, selector)
    after = left()
    assert math.floor(after) <= shown <= math.ceil(before), (after, shown, before)
    return shown


def test_the_queue_s_dispositions_the_script_s_suggestion_and_the_wrap_up_countdown(desk, comm, storage):
    one = desk()
    page = one.page
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    wait_for_offer(page)
    page.click("button:has-text('Accept')")
    page.wait_for_selector(".desk-script")
    offered = page.eval_on_selector_all("select[name=disposition] option", "os => os.map(o => o.value)")
    assert offered == ["", *BILLING]                                   # the queue's, not the desk's own
    assert page.input_value("select[name=disposition]") == ""
    assert not page.locator(".suggested").count()

    page.eval_on_selector("select[name=disposition] option:nth-child(2)", "o => { o.value = 'resolved'; }")
    page.select_option("select[name=disposition]", "resolved")          # one of the desk's own: forged here
    with page.expect_response("**/desk/complete") as refused:
        page.click("button:has-text('Complete')")
    assert refused.value.status == 400
    one.expected(400)
    assert "disposition 'resolved': use one of paid, promise to pay, dispute" in page.inner_text("p.error:not([hidden])")
    assert comm.interaction(call)["state"] == "connected"
    assert page.url.endswith(f"/desk?i={call}")           # the desk's address: a reload does not post again
    assert "The interaction has ended" not in page.inner_text("main") and call not in page.inner_text("main")

    page.select_option("select[name=disposition]", "paid")
    page.fill("input[name=follow_up]", "Call back")
    page.eval_on_selector("input[name=due]", "i => { i.type = 'text'; i.value = '31/12/2026'; }")   # forged
    with page.expect_response("**/desk/complete") as refused:
        page.click("button:has-text('Complete')")
    assert refused.value.status == 400
    one.expected(400)
    assert "due '31/12/2026': give a date as YYYY-MM-DD" in page.inner_text("p.error:not([hidden])")
    assert comm.interaction(call)["state"] == "connected" and storage.query("Task") == []    # nothing done
    assert page.input_value("input[name=follow_up]") == "Call back"                         # nothing lost
    assert page.input_value("select[name=disposition]") == "paid"

    answer(page)                                                      # the greeting
    answer(page, choose="No")
    assert "The script has ended: payment_promised." in page.inner_text(".desk-script")
    suggested = page.inner_text(".desk-interaction .suggested")
    assert suggested == ("The script ended with payment_promised: disposition promise to pay. "
                         "Next: Check the payment in 7 days (follow-up task)")
    assert page.input_value("select[name=disposition]") == "promise to pay"   # preselected
    assert page.input_value("input[name=follow_up]") == "Check the payment in 7 days (follow-up task)"
    one.check_layout("the script's suggestion")
    page.fill("input[name=due]", SOON)
    page.click("button:has-text('Complete')")
    page.wait_for_selector(".wrap-up-left")
    completed = [e for e in comm.events(0, 0)["events"] if e["event"] == "complete"]
    assert [(e["interaction"], e["data"]["disposition"]) for e in completed] == [(call, "promise to pay")]
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": "+49 30 1234567"})[0]
    tasks = [{key: task[key] for key in ("subject", "assignee", "due", "customer_id", "done")}
             for task in storage.query("Task")]
    assert tasks == [{"subject": "Check the payment in 7 days (follow-up task)", "assignee": "ada",
                      "due": SOON, "customer_id": acme["id"], "done": False}]     # the popped customer's
    assert page.inner_text(".desk-interaction .suggested") == "Next: Check the payment in 7 days (follow-up task)"
    assert page.inner_text(".follow-up") == "Follow-up task: Check the payment in 7 days (follow-up task)"
    assert not page.locator("input[name=follow_up]").count()             # made already: not offered again

    first = countdown(page, ".wrap-up-left")
    assert 290 < first <= 300
    wait_below(page, ".wrap-up-left", first - 1)                       # it counts down by itself
    shown = reloaded_countdown(one, ".wrap-up-left", lambda: comm.agent("ada")["wrap_up_left"][call])
    assert shown < first                                               # from the server's time, not from 300
    one.check_layout("wrap-up countdown")
    assert "The interaction has ended." in page.inner_text(".desk-interaction") and call not in page.inner_text("main")
    one.shot("frontoffice-desk-wrap-up.png")
    page.click("button:has-text('End wrap-up')")
    page.wait_for_selector("text=Waiting for the next interaction")
    assert comm.agent("ada")["wrap_up_left"] == {}
    assert storage.count("Task") == 1


def test_a_campaign_call_s_accept_window_counts_down_on_a_phone(desk, comm, storage):
    one = desk(PHONE)
    page = one.page
    comm.add_campaign("spring", "sales", contacts_csv="number,customer\n+4930555000,2\n", pacing="progressive",
                      dialer=ANSWERS, connect_within=60)
    comm.campaign("spring", "start")
    wait_for_offer(page)
    [call] = comm.agent("ada")["interactions"]
    first = countdown(page, ".accept-within")
    assert 50 < first <= 60
    wait_below(page, ".accept-within", first - 1)
    shown = reloaded_countdown(one, ".accept-within", lambda: comm.interaction(call)["campaign"]["accept_within"])
    assert shown < first
    one.check_layout("accept window on a phone")
    page.click("button:has-text('Accept')")
    page.wait_for_selector(".desk-interaction .state.connected")
    offered = page.eval_on_selector_all("select[name=disposition] option", "os => os.map(o => o.value)")
    assert offered == ["", "resolved", "callback"]                     # sales lists none: the desk's own
    page.select_option("select[name=disposition]", "callback")
    assert page.input_value("input[name=follow_up]") == ""                # no script: nothing suggested
    page.click("button:has-text('Complete')")
    page.wait_for_selector(".wrap-up-left")
    assert 290 < countdown(page, ".wrap-up-left") <= 300
    assert storage.query("Task") == []                                 # and no follow-up asked for
    assert not page.locator("input[name=follow_up]").count()             # decided on completing: none
    one.check_layout("wrap-up on a phone")


def test_an_auto_accepted_campaign_call_starts_the_queue_s_script(desk, comm, caruso_client, storage):
    one = desk()
    page = one.page
    comm.add_campaign("autumn", "billing", contacts_csv="number,customer\n+4930555001,1\n", pacing="progressive",
                      dialer=ANSWERS, auto_accept=True)
    comm.campaign("autumn", "start")
    page.wait_for_selector(".desk-script h2:has-text('Payment reminder')")   # nobody clicked Accept
    assert "Greet Acme Utilities and ask about the open invoice." in page.inner_text(".desk-script")
    [call] = comm.agent("ada")["interactions"]
    assert comm.interaction(call)["state"] == "connected"
    scripts = caruso_client.get("caruso.scripts/1")
    [session] = scripts.sessions()
    context = scripts.current(session["session"])["context"]
    assert (session["script"], context["interaction"], context["customer_id"], context["channel"]) == (
        "billing_call", call, 1, comm.interaction(call)["channel"])
    assert context["channel"] == "voice"
    page.reload()                                                     # a second look starts no second script
    assert len(scripts.sessions()) == 1
    one.check_layout("auto-accepted call")
    answer(page)
    answer(page, choose="Yes")
    assert page.input_value("select[name=disposition]") == "paid"
    assert "Next: Send the receipt by e-mail" in page.inner_text(".desk-interaction .suggested")

    page.fill(".desk-notes textarea[name=notes]", "Paid by card")
    page.click("button:has-text('Save notes')")
    page.wait_for_selector(".desk-notes textarea:has-text('Paid by card')")
    comm.complete("ada", call)                           # the caller hangs up, as the voice channel says
    page.wait_for_selector(".wrap-up-left")
    assert page.input_value("input[name=follow_up]") == "Send the receipt by e-mail"   # offered in the wrap-up
    assert page.input_value(".desk-interaction textarea[name=notes]") == "Paid by card"   # and the notes
    page.fill(".desk-interaction textarea[name=notes]", "Paid by card; receipt to the new address")
    page.fill("input[name=due]", SOON)
    one.check_layout("wrap-up after the caller hung up")
    page.click("button:has-text('End wrap-up')")
    page.wait_for_selector("text=Waiting for the next interaction")
    tasks = [{key: task[key] for key in ("subject", "assignee", "due", "customer_id")} for task in storage.query("Task")]
    assert tasks == [{"subject": "Send the receipt by e-mail", "assignee": "ada", "due": SOON,
                      "customer_id": 1}]                 # the customer the dialog ran for
    notes = [(entry["summary"], entry["reference"]) for entry in storage.contact_history("Customer", 1)
             if entry["summary"].startswith("Notes")]
    assert notes == [("Notes: Paid by card; receipt to the new address", call)]      # filed with it


def test_notes_are_saved_as_they_are_typed_and_a_save_too_late_is_said(desk, comm, storage):
    """Notes typed and never submitted, on the connected call and then in its wrap-up, are
    kept by the page in the background; the wrap-up ended without the agent (its time ran
    out) while they type: the desk says it changed and keeps the wrap-up they type in; the
    desk drawn in another tab files what was kept; a later save in the first tab is refused,
    and the page says so beside the notes."""
    one = desk()
    page = one.page
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": "+49 30 1234567"})[0]["id"]
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    wait_for_offer(page)
    page.click("button:has-text('Accept')")
    with page.expect_request_finished(lambda request: request.url.endswith("/desk/notes")):
        page.fill(".desk-notes textarea[name=notes]", "Asked about the bill")
    expect(page.locator(".notes-saved")).to_have_text("Notes saved.")
    comm.complete("ada", call)                                    # the caller hangs up: the wrap-up
    page.reload()
    wrap_up = "form[action='/desk/wrap-up'] textarea[name=notes]"
    assert page.input_value(wrap_up) == "Asked about the bill"
    with page.expect_request_finished(lambda request: request.url.endswith("/desk/notes")):
        page.fill(wrap_up, "Asked about the bill; pays on Friday")
    expect(page.locator(".notes-saved")).to_have_text("Notes saved.")
    page.eval_on_selector(wrap_up, "notes => { notes.value += '; pays on'; }")     # being typed as ...
    comm.end_wrap_up("ada", call)                                 # ... its time runs out
    expect(page.locator("#desk-changed")).to_be_visible()          # the desk says so, keeping what is typed
    assert page.input_value(wrap_up) == "Asked about the bill; pays on Friday; pays on"
    other = desk()                                                # a drawing files what was kept
    assert [entry["summary"] for entry in storage.contact_history("Customer", acme)
            if entry["reference"] == call] == ["Notes: Asked about the bill; pays on Friday"]
    with page.expect_response("**/desk/notes") as refused:
        page.fill(wrap_up, "Asked about the bill; pays on Monday")
    assert refused.value.status == 409
    one.expected(409)
    expect(page.locator(".notes-saved")).to_contain_text(
        "Notes not saved: the notes of this interaction went to the contact history already")
    other.check_layout("/desk")
