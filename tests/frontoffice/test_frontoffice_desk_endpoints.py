"""The agent desktop's endpoints over HTTP (no browser): who may use them, CSRF, bad
input refused or escaped, the push stream; against the real communication server,
script engine and storage service."""
import datetime
import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from caruso_frontoffice.desksettings import desk_settings
from caruso_frontoffice.worksheets import MAX_NOTES
from caruso_core.errors import ConfigError, NoInstance
from caruso_frontoffice.pages import deskstream
from caruso_core.testing import eventually
from frontoffice_support import QUEUES, SCRIPTS, DeskStream, csrf_of, make_context, sign_in

SOON = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=5)).isoformat()   # a follow-up's due date


@pytest.fixture
def desk_web(tmp_path, caruso_manager):
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri, desk=True)),
                    base_url="http://testserver") as client:
        yield client


@pytest.fixture
def comm(caruso_host, caruso_client, storage, tmp_path):
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES})
    return caruso_client.get("caruso.comm/1")


def signed_in(client, name):
    sign_in(client, name)
    return csrf_of(client.get("/").text)


def test_only_agents_and_supervisors_use_the_desk_and_every_action_needs_the_csrf_token(desk_web):
    assert desk_web.get("/desk", follow_redirects=False).headers["location"] == "/signin?next=%2Fdesk"
    anonymous = csrf_of(desk_web.get("/signin").text)
    assert desk_web.post("/desk/status", data={"csrf": anonymous, "status": "available"},
                         headers={"sec-fetch-mode": "same-origin"}).status_code == 403      # the desk's script
    assert desk_web.post("/desk/status", data={"csrf": anonymous, "status": "available"},
                         follow_redirects=False).headers["location"] == "/signin?next=%2F"   # a page's form
    csrf = signed_in(desk_web, "root")
    assert desk_web.get("/desk").status_code == 403
    assert desk_web.get("/desk/stream").status_code == 403
    assert desk_web.post("/desk/status", data={"csrf": csrf, "status": "available"}).status_code == 403
    signed_in(desk_web, "ada")
    refused = desk_web.post("/desk/status", data={"status": "available"})
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    assert desk_web.post("/desk/accept", data={"csrf": "forged", "interaction": "x"}).status_code == 403


def test_without_the_communication_server_the_desk_says_so(desk_web, caruso_manager):
    signed_in(desk_web, "sam")
    page = desk_web.get("/desk")
    assert page.status_code == 503 and "A service the desk needs is not running" in page.text
    stream = DeskStream(desk_web)
    try:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.next("desk") == {"signature": "unavailable"}
    finally:
        stream.close()


def test_bad_input_is_refused_with_a_reason_and_text_is_escaped(desk_web, comm):
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    refused = post("status", status="dancing")
    assert refused.status_code == 400 and "status 'dancing': use one of available, break, logged_out" in unescape(refused.text)
    assert "at most 60 characters" in post("status", status="break", reason="x" * 61).text
    assert post("status", status="available").status_code == 303
    stream = DeskStream(desk_web)
    try:
        signature = stream.next("desk")["signature"]
        call = comm.arrive("billing", from_="<img src=x onerror=alert(1)>")["id"]
        assert stream.next("desk")["signature"] != signature      # pushed: the offer changed the desk
    finally:
        stream.close()
    page = desk_web.get(f"/desk?i={call}")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and "<img src=x" not in page.text
    assert "No customer matches" in page.text
    assert post("notes", interaction="someone-elses", notes="hi").status_code == 409
    accepted = post("accept", interaction=call)           # the script needs a customer, none was found
    assert accepted.status_code == 303                    # accepted: a notice, not a refusal to send again
    shown = desk_web.get(accepted.headers["location"]).text
    assert "Accepted. The script Billing call needs the customer: find the caller, then start it." in shown
    assert comm.interaction(call)["state"] == "connected" and "Start Billing call" in shown
    assert "Accepted." not in desk_web.get(accepted.headers["location"]).text      # said once
    started = post("script", interaction=call, start="1")
    assert started.status_code == 409 and "needs the customer: find the caller" in started.text
    assert post("notes", interaction=call, notes="n" * 4001).status_code == 400
    assert post("notes", interaction=call, notes="<script>alert(1)</script>").status_code == 303
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in desk_web.get(f"/desk?i={call}").text
    assert "use one of resolved, callback" in post("complete", interaction=call, disposition="sold").text
    refused = post("complete", interaction=call, disposition="callback", follow_up='"><script>alert(2)</script>',
                   due="2026-02-30", notes="n" * 5000)
    assert refused.status_code == 400                                     # shown again as given, escaped
    assert 'value="&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in refused.text and "alert(2)</script>" not in refused.text
    assert 'value="2026-02-30"' in refused.text and "<option selected>callback</option>" in refused.text
    assert "n" * MAX_NOTES + "</textarea>" in refused.text and "n" * (MAX_NOTES + 1) not in refused.text
    too_long = post("complete", interaction=call, disposition="resolved", follow_up="f" * 301)
    assert too_long.status_code == 400 and "at most 300 characters" in too_long.text
    assert "give a date as YYYY-MM-DD" in post("complete", interaction=call, disposition="resolved",
                                              follow_up="Call back", due="2026-02-30").text
    past = post("complete", interaction=call, disposition="resolved", follow_up="Call back", due="2020-01-01")
    assert past.status_code == 400 and "due 2020-01-01: a follow-up is due today or later" in past.text
    assert comm.interaction(call)["state"] == "connected"           # refused before anything was done
    assert "no queue 'nowhere'" in unescape(post("transfer", interaction=call, queue="nowhere").text)
    same = post("transfer", interaction=call, queue=comm.interaction(call)["queue"])     # the page offers it not
    assert same.status_code == 400 and "is in the queue" in unescape(same.text) and "already" in same.text
    assert '<option value="" selected disabled>Choose a queue</option><option value="sales">sales · nobody ready' \
           '</option>' in desk_web.get(f"/desk?i={call}").text    # none chosen; she is busy with this call
    comm.login("bob", {}, {"voice": 1})
    comm.set_status("bob", "available")
    page = desk_web.get(f"/desk?i={call}").text
    assert '<option value="sales">sales · 1 ready</option>' in page
    assert '<option value="" selected disabled>Choose a colleague</option><option value="bob">bob · ready</option>' \
           '</select>' in page                                    # not herself
    assert "choose a queue or a colleague" in post("transfer", interaction=call, queue="").text
    assert "choose a queue or a colleague" in post("transfer", interaction=call, queue="sales", colleague="bob").text
    assert "not yourself" in post("transfer", interaction=call, colleague="ada").text
    oversized = post("transfer", interaction=call, colleague="b" * 201)
    assert oversized.status_code == 400 and "at most 200 characters, not 201" in oversized.text
    nobody = post("transfer", interaction=call, colleague="<nobody>")
    assert nobody.status_code == 404 and "no agent '<nobody>'" in unescape(nobody.text)
    assert "<nobody>" not in nobody.text
    comm.set_status("bob", "break")
    page = desk_web.get(f"/desk?i={call}").text
    assert '<option value="bob">' not in page and "No colleague is free to take it now." in page
    on_break = post("transfer", interaction=call, colleague="bob")       # a page drawn before the break
    assert on_break.status_code == 409 and "bob cannot take it now (busy, on break or signed out" in on_break.text
    assert '<option value="chat">' not in desk_web.get(f"/desk?i={call}").text       # a call is no chat
    to_chat = post("transfer", interaction=call, queue="chat")
    assert to_chat.status_code == 409 and "queue chat takes webchat interactions, not this voice one" in to_chat.text
    assert post("transfer", interaction=call, queue="sales").status_code == 303
    assert comm.interaction(call)["queue"] == "sales"


def test_a_call_handed_to_a_colleague_who_declines_it_comes_back_to_the_agent(desk_web, comm):
    """ada transfers a call to bob; her wrap-up says where it is, and the desk's digest changes
    with it (her push stream redraws her desk); bob declines it, and once her wrap-up ends it
    is offered to her again, which her desk says."""
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    def signature(page):
        return re.search(r'data-signature="(\w+)"', page).group(1)

    post("status", status="available")
    call = comm.arrive("billing")["id"]                             # a wrap-up of 300 s
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    post("accept", interaction=call)
    comm.login("bob", {}, {"voice": 1})
    comm.set_status("bob", "available")
    assert post("transfer", interaction=call, colleague="bob").status_code == 303
    again = post("transfer", interaction=call, colleague="bob")          # sent twice: it is not hers any more
    assert again.status_code == 409 and comm.interaction(call)["offers"] == ["bob"]
    assert (comm.interaction(call)["offers"], comm.interaction(call)["transferred_by"]) == (["bob"], "ada")
    ringing = desk_web.get(f"/desk?i={call}").text
    assert "Transferred: it rings for bob." in ringing and "<h2>Wrap-up</h2>" in ringing
    assert re.search(r"transferred</a>\s*<span class=\"state wrap_up\">wrap up", ringing)   # listed so, not "ended"
    comm.reject("bob", call)
    assert (comm.interaction(call)["transferred_by"], comm.interaction(call)["returns_to"]) == (None, "ada")
    waiting = desk_web.get(f"/desk?i={call}").text
    assert "Transferred: it waits in queue billing." in waiting and signature(waiting) != signature(ringing)
    assert post("wrap-up", interaction=call).status_code == 303
    eventually(lambda: comm.agent("ada")["interactions"] == [call], what="the call offered to ada again")
    assert "Back to you: the customer is on the line." in desk_web.get(f"/desk?i={call}").text
    post("accept", interaction=call)
    post("complete", interaction=call, disposition="resolved")


def test_the_push_stream_brings_the_colleagues_free_to_take_a_connected_call(desk_web, comm):
    """The desk's transfer list follows colleagues becoming free or busy without a reload: the
    stream's desk event carries them while a call is connected (its signature, whose change
    reloads the page, stays as it was)."""
    csrf = signed_in(desk_web, "ada")
    desk_web.post("/desk/status", data={"csrf": csrf, "status": "available"})
    call = comm.arrive("billing")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    stream = DeskStream(desk_web)
    try:
        assert "colleagues" not in stream.next("desk")                # nothing connected: no list
        comm.accept("ada", call)
        connected = stream.next("desk")
        assert connected["colleagues"] == {"voice": []}
        page = desk_web.get(f"/desk?i={call}").text
        assert '<p class="hint no-colleague" role="status">No colleague is free to take it now.</p>' in page
        assert '<form method="post" action="/desk/transfer" class="inline" data-channel="voice">' in page
        comm.login("bob", {}, {"voice": 1})
        comm.set_status("bob", "available")
        assert stream.next("desk") == {"signature": connected["signature"], "colleagues": {"voice": [["bob", "ready"]]}}
        comm.set_status("bob", "break")
        assert stream.next("desk") == connected
    finally:
        stream.close()


def test_an_interaction_gets_one_follow_up_task(desk_web, comm, storage):
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    assert post("status", status="available").status_code == 303
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]         # a queue with a wrap-up
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    post("accept", interaction=call)
    long = post("complete", interaction=call, disposition="resolved", follow_up="x" * 5000)
    assert long.status_code == 400 and "the follow-up: at most 300 characters, not 5000; shorten it" in long.text
    empty = post("complete", interaction=call, disposition="follow-up", follow_up=" ")
    assert empty.status_code == 400 and "follow-up: say what is to be done in the follow-up task" in empty.text
    undone = post("complete", interaction=call, disposition="resolved", due=SOON)
    assert undone.status_code == 400 and f"due {SOON}: say what is to be done by then" in undone.text
    assert comm.interaction(call)["state"] == "connected"                        # neither completed it
    done = post("complete", interaction=call, disposition="resolved", follow_up="Send the brochure")
    assert done.status_code == 303 and comm.agent("ada")["wrap_up_left"]
    again = post("wrap-up", interaction=call, follow_up="Send the brochure")          # a stale or forged form
    assert again.status_code == 409 and "has its follow-up decided already" in unescape(again.text)
    assert [task["subject"] for task in storage.query("Task")] == ["Send the brochure"]
    assert comm.agent("ada")["wrap_up_left"]                           # not ended: the agent may try again
    assert post("wrap-up", interaction=call).status_code == 303 and comm.agent("ada")["wrap_up_left"] == {}


def test_of_several_customers_matching_the_caller_the_agent_chooses_one_for_script_notes_and_follow_up(
        desk_web, comm, storage):
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    ann, bo = (storage.create("Customer", {"name": name, "phone": "+49 30 5550101"})["id"] for name in ("Ann", "Bo"))
    assert post("status", status="available").status_code == 303
    call = comm.arrive("billing", from_="+49 30 5550101")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    accepted = post("accept", interaction=call)
    assert "needs the customer: find the caller" in desk_web.get(accepted.headers["location"]).text   # whose call?
    page = desk_web.get(f"/desk?i={call}").text
    assert "2 customers match +49 30 5550101: choose the caller" in page and page.count("This is the caller") == 2
    assert post("notes", interaction=call, notes="Disputes the March bill").status_code == 303
    for forged in (f"id={ann + bo + 100}", "", "x" * 201):
        refused = post("customer", interaction=call, customer=forged)
        assert refused.status_code in (400, 409) and "This is the caller" in refused.text
    assert post("customer", interaction=call, customer=f"id={ann}").status_code == 303     # a misclick
    page = desk_web.get(f"/desk?i={call}").text
    assert "This is the caller" not in page and f"/views/customer-360/show?id={ann}" in page
    assert "Not the caller? Also matching +49 30 5550101:" in page and "The caller is Bo" in page   # chosen again
    assert post("customer", interaction=call, customer=f"id={bo}").status_code == 303
    page = desk_web.get(f"/desk?i={call}").text
    assert f"/views/customer-360/show?id={bo}" in page and f"show?id={ann}" not in page and "The caller is Ann" in page
    assert post("script", interaction=call, start="1").status_code == 303      # now it starts, for Bo
    assert post("complete", interaction=call, disposition="resolved", follow_up="Send the bill again").status_code == 303
    assert [task["customer_id"] for task in storage.query("Task")] == [bo]
    assert [e["summary"] for e in storage.contact_history("Customer", bo)] == [
        "Notes (resolved): Disputes the March bill"]                    # filed with her, not with Ann
    assert storage.contact_history("Customer", ann) == []


def test_the_screen_pop_finds_the_callers_number_however_it_is_written(desk_web, comm, storage):
    """The network's number (+31205550101) pops the customer whose phone is written otherwise
    (020-555 01 01); a customer holding it as the network writes it is popped alone; a number
    nobody holds pops nobody, and so does an extension (fewer than nine digits) nobody holds as
    it is written."""
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    ann = storage.create("Customer", {"name": "Ann Smit", "phone": "020-555 01 01"})["id"]
    bob = storage.create("Customer", {"name": "Bob Smit", "phone": "020 555 0102", "email": "5550101@example.org"})["id"]
    assert post("status", status="available").status_code == 303
    for number, popped in (("+31205550101", ann), ("+31 20 555 0102", bob), ("+31205550199", None), ("5550101", None)):
        call = comm.arrive("sales", from_=number)["id"]
        eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
        assert post("accept", interaction=call).status_code == 303
        page = desk_web.get(f"/desk?i={call}").text
        shown = set(re.findall(r"/views/customer-360/show\?id=(\d+)", page)) - {"0"}
        assert shown == ({str(popped)} if popped else set()), (number, shown)
        assert post("complete", interaction=call, disposition="resolved").status_code == 303
    carla = storage.create("Customer", {"name": "Carla Smit", "phone": "+31205550101"})["id"]
    call = comm.arrive("sales", from_="+31205550101")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    assert post("accept", interaction=call).status_code == 303
    assert set(re.findall(r"/views/customer-360/show\?id=(\d+)", desk_web.get(f"/desk?i={call}").text)) == {str(carla)}


def test_the_caller_an_agent_chose_goes_with_the_call_they_transfer(desk_web, comm, storage):
    """Of two customers matching the number, ada chooses Bo and transfers the call; sam's desk
    shows Bo (Ann offered as another match), not the two to choose from again."""
    csrf = signed_in(desk_web, "ada")
    ann, bo = (storage.create("Customer", {"name": name, "phone": "+49 30 5550101"})["id"] for name in ("Ann", "Bo"))
    assert desk_web.post("/desk/status", data={"csrf": csrf, "status": "available"}).status_code == 200
    call = comm.arrive("billing", from_="+49 30 5550101")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    desk_web.post("/desk/accept", data={"csrf": csrf, "interaction": call})
    assert desk_web.get(f"/desk?i={call}").text.count("This is the caller") == 2
    assert desk_web.post("/desk/customer", data={"csrf": csrf, "interaction": call, "customer": f"id={bo}"},
                         follow_redirects=False).status_code == 303
    with TestClient(desk_web.app, base_url="http://testserver") as other:
        theirs = signed_in(other, "sam")
        assert other.post("/desk/status", data={"csrf": theirs, "status": "available"}).status_code == 200
        assert desk_web.post("/desk/transfer", data={"csrf": csrf, "interaction": call, "queue": "sales"},
                             follow_redirects=False).status_code == 303
        eventually(lambda: call in comm.agent("sam")["interactions"], what="the offer to sam")
        page = other.get(f"/desk?i={call}").text
        assert f"/views/customer-360/show?id={bo}" in page and "This is the caller" not in page
        other.post("/desk/accept", data={"csrf": theirs, "interaction": call})
        page = other.get(f"/desk?i={call}").text
        assert f"/views/customer-360/show?id={bo}" in page and f"show?id={ann}" not in page
        assert "Not the caller? Also matching" in page and "The caller is Ann" in page


def test_an_agent_finds_a_caller_nobody_recognised_for_script_notes_and_follow_up(desk_web, comm, storage):
    """*Find the caller* searches the customers as their list does (name, number, phone,
    e-mail); the one the agent chooses gets the script, the notes and the follow-up. Typed
    text is bounded, escaped and matched literally; a customer that does not exist is refused."""
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    zoe = storage.create("Customer", {"name": "Zoë 100% Müller", "phone": "+49 30 5550199", "city": "Zürich"})["id"]
    storage.create("Customer", {"name": "Zoltan Mulder", "phone": "+49 30 5550188"})
    assert post("status", status="available").status_code == 303
    call = comm.arrive("billing", from_="anonymous")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    assert "find the caller" in desk_web.get(post("accept", interaction=call).headers["location"]).text
    page = desk_web.get(f"/desk?i={call}").text
    assert 'name="find"' in page and "The caller is" not in page
    found = desk_web.get("/desk", params={"i": call, "find": "ZOE"}).text             # accents and case ignored
    assert found.count("The caller is") == 1 and "The caller is Zoë 100% Müller · Zürich<" in found   # two values
    chooses = re.search(r'<form method="post" action="/desk/customer".*?</form>', found, re.S).group(0)
    assert f'value="{csrf}"' in chooses and f'value="{call}"' in chooses and f'value="id={zoe}"' in chooses
    assert desk_web.get("/desk", params={"i": call, "find": "100%"}).text.count("The caller is") == 1   # % literal
    assert desk_web.get("/desk", params={"i": call, "find": "1_0"}).text.count("The caller is") == 0    # _ literal
    assert desk_web.get("/desk", params={"i": call, "find": "zo"}).text.count("The caller is") == 2
    for n in range(6):
        storage.create("Customer", {"name": f"Zorro {n}"})
    many = desk_web.get("/desk", params={"i": call, "find": "zorro"}).text
    assert many.count("The caller is") == 5 and "More customers match “zorro”: add a word" in many
    assert desk_web.get("/desk", params={"i": call, "find": "5550199"}).text.count("The caller is") == 0   # phone:
    # a column the agent's role does not see, which her list page does not search either
    hostile = desk_web.get("/desk", params={"i": call, "find": "<script>alert(1)</script>" + "x" * 500})
    assert hostile.status_code == 200 and "<script>alert(1)" not in hostile.text
    assert "No customer matches “&lt;script&gt;alert(1)&lt;/script&gt;" in hostile.text and "x" * 100 not in hostile.text
    for forged in ("id=999999", "id=abc", "id=1&id=2", "name=Zoe", "id=", "x" * 201):
        refused = post("customer", interaction=call, customer=forged)
        assert refused.status_code in (400, 409), forged
    unsigned = desk_web.post("/desk/customer", data={"interaction": call, "customer": f"id={zoe}"})
    assert unsigned.status_code == 403 and "did not come from this site" in unsigned.text     # no CSRF token
    assert post("customer", interaction="someone-elses", customer=f"id={zoe}").status_code == 409   # not her call
    assert post("notes", interaction=call, notes="Wants a copy of the bill").status_code == 303
    assert post("customer", interaction=call, customer=f"id={zoe}").status_code == 303
    page = desk_web.get(f"/desk?i={call}").text
    assert f"/views/customer-360/show?id={zoe}" in page and "Start Billing call" in page
    assert post("script", interaction=call, start="1").status_code == 303      # it starts, for her
    assert post("complete", interaction=call, disposition="resolved", follow_up="Send the copy").status_code == 303
    assert [task["customer_id"] for task in storage.query("Task")] == [zoe]
    assert [e["summary"] for e in storage.contact_history("Customer", zoe)] == [
        "Notes (resolved): Wants a copy of the bill"]
    assert post("customer", interaction=call, customer=f"id={zoe}").status_code == 409    # replayed: call over
    signed_in(desk_web, "root")                                                       # an administrator
    assert desk_web.get("/desk", params={"i": call, "find": "zoe"}).status_code == 403


def test_the_desk_keeps_its_call_while_the_script_engine_is_down(desk_web, caruso_host, caruso_client, storage,
                                                                    tmp_path):
    """Accepting a call whose queue has a script, with the engine gone: accepted, said in one
    line, the script's button named by its id; the desk is drawn, not a server error."""
    scripts = caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{tmp_path / 'scripts.db'}"})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": QUEUES})
    comm = caruso_client.get("caruso.comm/1")
    csrf = signed_in(desk_web, "ada")
    assert desk_web.post("/desk/status", data={"csrf": csrf, "status": "available"},
                         follow_redirects=False).status_code == 303
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    scripts.stop()
    accepted = desk_web.post("/desk/accept", data={"csrf": csrf, "interaction": call}, follow_redirects=False)
    assert accepted.status_code == 303
    assert "Accepted. The script billing_call did not start" in desk_web.get(accepted.headers["location"]).text
    assert comm.interaction(call)["state"] == "connected"
    page = desk_web.get(f"/desk?i={call}")
    assert page.status_code == 200 and "Start billing_call" in page.text and "Complete" in page.text


def notes_filed(storage, customer):
    return [(entry["summary"], entry["channel"], entry["direction"], entry["agent"], entry["reference"])
            for entry in storage.contact_history("Customer", customer) if entry["summary"].startswith("Notes")]


def test_the_notes_of_a_call_the_caller_ended_are_filed_once(desk_web, comm, storage, caplog):
    """Without a wrap-up (sales), when the desk is next drawn; with one (billing), at its end,
    with the notes the wrap-up's form carries (too long: refused, nothing done); a customer
    the storage no longer has stops neither the wrap-up (the agent empties the field) nor
    the desk (given up, logged)."""
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    def connected_with_notes(queue, caller, notes):
        call = comm.arrive(queue, from_=caller)["id"]
        eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
        post("accept", interaction=call)
        assert "No customer matches" not in desk_web.get(f"/desk?i={call}").text    # the screen pop's customer
        assert post("notes", interaction=call, notes=notes).status_code == 303
        comm.complete("ada", call)                     # the caller hangs up, as the voice channel says
        return call

    assert post("status", status="available").status_code == 303
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": "+49 30 1234567"})[0]["id"]
    call = connected_with_notes("sales", "+49 30 1234567", "Wants the green tariff")
    assert comm.agent("ada")["interactions"] == [] and notes_filed(storage, acme) == []
    assert desk_web.get("/desk").status_code == 200               # drawn again: filed
    assert desk_web.get("/desk").status_code == 200               # and only once
    assert notes_filed(storage, acme) == [("Notes: Wants the green tariff", "voice", "inbound", "ada", call)]

    call = comm.arrive("billing", from_="+49 30 1234567")["id"]        # transferred away: filed too
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    post("accept", interaction=call)
    desk_web.get(f"/desk?i={call}")
    post("notes", interaction=call, notes="Asks for a sales call")
    post("status", status="break")                                    # so that sales offers it to Bob
    comm.login("bob", {}, {"voice": 1})
    assert post("transfer", interaction=call, queue="sales").status_code == 303
    eventually(lambda: comm.agent("bob")["interactions"] == [call], what="the offer to Bob")
    comm.accept("bob", call)
    wrap_up = desk_web.get(f"/desk?i={call}").text                   # Ada wraps up the call Bob has now
    assert "<h2>Wrap-up</h2>" in wrap_up and "Asks for a sales call</textarea>" in wrap_up
    assert "Transferred: bob has it now." in wrap_up and "has ended" not in wrap_up
    assert "/desk/complete" not in wrap_up
    assert post("wrap-up", interaction=call).status_code == 303
    assert notes_filed(storage, acme)[0] == ("Notes: Asks for a sales call", "voice", "inbound", "ada", call)
    comm.complete("bob", call)
    handed = comm.arrive("sales", from_="+49 30 7654321")["id"]      # and one Bob hands to billing: Ada's
    eventually(lambda: comm.agent("bob")["interactions"] == [handed], what="the offer to Bob")
    comm.accept("bob", handed)
    post("status", status="available")
    comm.transfer("bob", handed, queue="billing")
    eventually(lambda: comm.agent("ada")["interactions"] == [handed], what="the transferred call offered to Ada")
    offered = desk_web.get(f"/desk?i={handed}").text
    assert "Transferred by bob: the customer is on the line." in offered and "preview" not in offered
    post("reject", interaction=handed)
    comm.abandon(handed)                                              # the caller hangs up
    comm.logout("bob")
    post("status", status="available")

    call = connected_with_notes("billing", "+49 30 1234567", "Will pay on Friday")
    wrap_up = desk_web.get(f"/desk?i={call}").text
    assert "Notes for the contact history" in wrap_up and "Will pay on Friday</textarea>" in wrap_up
    assert len(notes_filed(storage, acme)) == 2                   # not while the wrap-up runs
    refused = post("wrap-up", interaction=call, notes="n" * (MAX_NOTES + 1))
    assert refused.status_code == 400 and f"at most {MAX_NOTES} characters" in refused.text
    assert comm.agent("ada")["wrap_up_left"] and len(notes_filed(storage, acme)) == 2
    longest = "Will pay on Friday, " + "x" * (MAX_NOTES - 20)          # fits the history with its heading
    assert post("wrap-up", interaction=call, notes=longest).status_code == 303
    assert comm.agent("ada")["wrap_up_left"] == {}
    assert notes_filed(storage, acme)[0] == (f"Notes: {longest}", "voice", "inbound", "ada", call)
    assert post("wrap-up", interaction=call, notes="again").status_code == 409     # replayed: not yours
    desk_web.get("/desk")
    assert len(notes_filed(storage, acme)) == 3

    gone = storage.create("Customer", {"name": "Gone GmbH", "phone": "+49 30 7654321"})["id"]
    call = connected_with_notes("billing", "+49 30 7654321", "Moving away")
    storage.delete("Customer", gone)
    refused = post("wrap-up", interaction=call)
    assert refused.status_code == 404 and "Moving away</textarea>" in refused.text   # the notes still shown
    assert comm.agent("ada")["wrap_up_left"]                      # the wrap-up goes on
    assert post("wrap-up", interaction=call, notes="").status_code == 303      # emptied: nothing to file
    assert comm.agent("ada")["wrap_up_left"] == {}

    gone = storage.create("Customer", {"name": "Gone Again", "phone": "+49 30 7654322"})["id"]
    call = connected_with_notes("sales", "+49 30 7654322", "Moving too")
    storage.delete("Customer", gone)
    with caplog.at_level("WARNING", logger="caruso_frontoffice.desk"):
        assert desk_web.get("/desk").status_code == 200
        assert desk_web.get("/desk").status_code == 200
    [given_up] = [record.getMessage() for record in caplog.records if call in record.getMessage()]
    assert given_up.startswith(f"the notes of ada on {call} were not filed: ")     # once: not tried again


def test_notes_filed_on_completing_are_not_offered_again_in_the_wrap_up(desk_web, comm, storage):
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    post("status", status="available")
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    post("accept", interaction=call)
    post("notes", interaction=call, notes="Debited twice")
    assert post("complete", interaction=call, disposition="resolved").status_code == 303
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": "+49 30 1234567"})[0]["id"]
    assert notes_filed(storage, acme) == [("Notes (resolved): Debited twice", "voice", "inbound", "ada", call)]
    assert "Notes for the contact history" not in desk_web.get(f"/desk?i={call}").text
    forged = post("wrap-up", interaction=call, notes="Forged after filing")
    assert forged.status_code == 409 and "went to the contact history already" in forged.text
    assert comm.agent("ada")["wrap_up_left"] and post("wrap-up", interaction=call).status_code == 303
    desk_web.get("/desk")
    assert len(notes_filed(storage, acme)) == 1


def test_nothing_the_agent_typed_is_lost(desk_web, comm, storage):
    """A refused script answer is shown again; notes not saved go with another form
    (``draft_notes``); notes saved just after the caller hung up are kept and filed; a call
    that comes back to the agent starts with an empty worksheet."""
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    def step_seq(call):
        return re.search(r'name="seq" value="(\d+)"', desk_web.get(f"/desk?i={call}").text).group(1)

    post("status", status="available")
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": "+49 30 1234567"})[0]["id"]
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    post("accept", interaction=call)
    post("script", interaction=call, seq=step_seq(call))                        # the greeting
    post("script", interaction=call, answer="payment", seq=step_seq(call))
    seq = step_seq(call)
    refused = post("script", interaction=call, answer="<b>" + "x" * 200, seq=seq)     # over the step's 200
    assert refused.status_code == 400 and "&lt;b&gt;" + "x" * 200 + "</textarea>" in refused.text
    for forged in ({"draft_for": "someone-elses", "draft_notes": "x"},           # not hers: nothing done
                   {"draft_for": call, "draft_notes": "n" * (MAX_NOTES + 1)}):      # too long: nothing done
        assert post("script", interaction=call, answer="Why twice?", seq=seq, **forged).status_code in (400, 409)
    assert step_seq(call) == seq
    assert post("script", interaction=call, answer="Why twice?", seq=seq, draft_for=call,
                draft_notes="Typed, not saved").status_code == 303
    assert "Typed, not saved</textarea>" in desk_web.get(f"/desk?i={call}").text
    assert post("complete", interaction=call, disposition="resolved", draft_for=call,
                draft_notes="Typed, then completed").status_code == 303
    assert notes_filed(storage, acme) == [("Notes (resolved): Typed, then completed", "voice", "inbound", "ada", call)]
    assert post("notes", interaction=call, notes="After filing").status_code == 409     # filed: no more
    assert post("wrap-up", interaction=call).status_code == 303

    call = comm.arrive("sales", from_="+49 30 1234567")["id"]                   # no wrap-up
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    post("accept", interaction=call)
    desk_web.get(f"/desk?i={call}")
    comm.complete("ada", call)                                     # the caller hangs up while she types
    assert post("notes", interaction=call, notes="Typed as the caller hung up").status_code == 303
    desk_web.get("/desk")                                          # the desk drawn after it
    assert notes_filed(storage, acme)[0] == ("Notes: Typed as the caller hung up", "voice", "inbound", "ada", call)

    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    post("accept", interaction=call)
    desk_web.get(f"/desk?i={call}")
    post("notes", interaction=call, notes="First time")
    post("transfer", interaction=call, queue="sales")                            # sales passes her over
    post("wrap-up", interaction=call)
    assert comm.agent("ada")["interactions"] == [] and comm.interaction(call)["state"] == "waiting"
    comm.login("bob", {}, {"voice": 1})
    eventually(lambda: comm.agent("bob")["interactions"] == [call], what="the offer to Bob")
    comm.accept("bob", call)
    comm.transfer("bob", call, to_agent="ada")                                   # who hands it back to her
    eventually(lambda: comm.agent("ada")["interactions"] == [call], what="the call offered again")
    post("accept", interaction=call)
    again = desk_web.get(f"/desk?i={call}").text
    assert "First time</textarea>" not in again and "Notes: First time" in again   # filed; a fresh worksheet
    post("notes", interaction=call, notes="Second time")
    post("complete", interaction=call, disposition="resolved")
    assert [entry[0] for entry in notes_filed(storage, acme)][:2] == ["Notes (resolved): Second time",
                                                                      "Notes: First time"]


def test_a_script_answer_needs_the_seq_of_its_step(desk_web, comm):
    """A form sent twice, or without its seq, never answers a step twice."""
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    post("status", status="available")
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]       # Acme Utilities calls
    assert post("accept", interaction=call).status_code == 303

    def step_seq():
        return re.search(r'name="seq" value="(\d+)"', desk_web.get(f"/desk?i={call}").text).group(1)

    seq = step_seq()
    for missing in ({}, {"seq": ""}, {"seq": "abc"}, {"seq": "1e400"}):
        refused = post("script", interaction=call, answer="yes", **missing)
        assert refused.status_code == 400, missing
    assert step_seq() == seq                                           # the dialog did not move
    assert post("script", interaction=call, answer="yes", seq=seq).status_code == 303
    assert step_seq() != seq


def test_desk_settings_name_the_bad_key():
    assert desk_settings({"agent_skills": {"ada": {"billing": 2}}}).skills_of("ada") == {"billing": 2}
    assert desk_settings(None).skills_of("ben") == {}
    for bad, message in (({"script": {}}, "unknown key(s) script"),
                         ({"scripts": {"billing": 1}}, "scripts must be a table of names to str"),
                         ({"dispositions": []}, "dispositions must be a non-empty list"),
                         ({"capacity": {"voice": True}}, "capacity must be a table"),
                         ({"phone_ice_limit": 0}, "phone_ice_limit must be a number of seconds, above 0"),
                         ({"phone_ice_limit": "4"}, "phone_ice_limit must be a number of seconds")):
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            desk_settings(bad)


def test_an_agent_who_signs_out_is_offered_nothing_and_keeps_a_connected_call(desk_web, comm):
    """Signed out in her last browser, ada leaves the queues; during a call she stays on it, on a
    break (a chat, which she has room for, no longer rings at her)."""
    csrf = signed_in(desk_web, "ada")
    with TestClient(desk_web.app, base_url="http://testserver") as phone:     # a second browser
        signed_in(phone, "ada")
        assert desk_web.post("/desk/status", data={"csrf": csrf, "status": "available"}).status_code == 200
        assert desk_web.post("/signout", data={"csrf": csrf}).status_code == 200
        assert comm.agent("ada")["status"] == "available"                # her other desk takes calls
        assert phone.post("/signout", data={"csrf": csrf_of(phone.get("/").text)}).status_code == 200
    assert comm.agent("ada")["status"] == "logged_out"
    csrf = signed_in(desk_web, "ada")
    desk_web.post("/desk/status", data={"csrf": csrf, "status": "available"})
    call = comm.arrive("billing", from_="+49 30 1234567")["id"]
    eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
    assert desk_web.post("/desk/accept", data={"csrf": csrf, "interaction": call}).status_code == 200
    assert desk_web.post("/signout", data={"csrf": csrf}).status_code == 200
    assert (comm.agent("ada")["status"], comm.agent("ada")["reason"]) == ("break", "signed out")
    assert comm.interaction(call)["state"] == "connected"                   # the call is not cut
    chat = comm.arrive("chat", channel="webchat")["id"]
    assert comm.interaction(chat)["offers"] == [] and comm.agent("ada")["capacity"]["webchat"] == 1


def test_the_push_stream_ends_at_sign_out_and_one_agent_holds_a_bounded_number(desk_web, comm, monkeypatch):
    csrf = signed_in(desk_web, "ada")
    monkeypatch.setattr(deskstream, "MAX_STREAMS", 1)
    first = DeskStream(desk_web)
    try:
        first.next("desk")
        second = DeskStream(desk_web)
        assert "open in 1 tabs already" in second.next("refused")["error"]
        assert second.ended.wait(10), "a refused stream ends"
        desk_web.post("/signout", data={"csrf": csrf})
        assert first.ended.wait(10), "the stream of a signed-out session ends"
    finally:
        first.close()


def test_a_desk_drawn_while_an_offer_arrives_carries_the_signature_of_what_it_shows(tmp_path, caruso_manager, comm):
    """Work that arrives while the desk page is being drawn (after its work was read) must
    make the page's signature differ from the stream's, or the page would never show it."""
    context = make_context(tmp_path, caruso_manager.uri, desk=True)
    with TestClient(create_app(context), base_url="http://testserver") as client:
        csrf = signed_in(client, "ada")
        client.post("/desk/status", data={"csrf": csrf, "status": "available"})
        read_work = context.desk.work
        arrived = []

        def work_then_an_offer(agent):
            found = read_work(agent)
            if not arrived:
                arrived.append(comm.arrive("billing", from_="+49 30 1234567")["id"])
            return found

        context.desk.work = work_then_an_offer
        page = client.get("/desk").text
        drawn = re.search(r'data-signature="([0-9a-f]+)"', page).group(1)
        assert "desk-interaction" not in page                 # drawn before the offer
        assert arrived and drawn != context.desk.pushed("ada")["signature"]   # so the stream's first signature reloads it


def test_a_wrap_up_whose_time_ran_out_still_gets_its_notes_and_follow_up(desk_web, comm, storage):
    """The agent ends a wrap-up after its time ran out: the notes and the follow-up she typed
    are kept all the same and the desk says so; notes the desk filed meanwhile stay as they
    were; an interaction that was never hers gets nothing."""
    csrf = signed_in(desk_web, "ada")

    def post(path, **fields):
        return desk_web.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

    def call_in_wrap_up():
        call = comm.arrive("billing", from_="+49 30 1234567")["id"]         # a queue with a wrap-up
        eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
        post("accept", interaction=call)
        desk_web.get(f"/desk?i={call}")                                   # the desk shows its customer
        comm.complete("ada", call)                                        # the caller hangs up
        assert comm.agent("ada")["wrap_up_left"]
        comm.end_wrap_up("ada", call)                                     # as its time running out does
        return call

    post("status", status="available")
    acme = storage.query("Customer", {"field": "phone", "op": "eq", "value": "+49 30 1234567"})[0]["id"]
    call = call_in_wrap_up()
    late = post("wrap-up", interaction=call, notes="Pays on Friday", follow_up="Call back on Friday",
                due=SOON)
    assert late.status_code == 303 and late.headers["location"] == "/desk"
    assert ("The wrap-up time had run out before you ended it; your notes went to the contact history as last "
            "saved and the follow-up task was made all the same.") in unescape(desk_web.get("/desk").text)
    assert "time had run out" not in desk_web.get("/desk").text                 # said once
    tasks = [{key: task[key] for key in ("subject", "assignee", "due", "customer_id")} for task in storage.query("Task")]
    assert tasks == [{"subject": "Call back on Friday", "assignee": "ada", "due": SOON, "customer_id": acme}]
    assert [entry[0] for entry in notes_filed(storage, acme)] == ["Notes: Pays on Friday"]
    again = post("wrap-up", interaction=call, follow_up="Call back on Friday")     # sent twice: decided
    assert again.status_code == 409 and "is not (or no longer) yours" in unescape(again.text)
    assert call not in again.text                                   # an agent does not know it by its id
    assert len(storage.query("Task")) == 1

    second = call_in_wrap_up()
    post("notes", interaction=second, notes="Moved house")
    desk_web.get("/desk")                                                   # a drawing files the notes
    late = post("wrap-up", interaction=second, notes="Moved house in May", follow_up="Send the new contract")
    assert late.status_code == 303
    assert [entry[0] for entry in notes_filed(storage, acme)][:1] == ["Notes: Moved house"]   # as filed
    assert sorted(task["subject"] for task in storage.query("Task")) == ["Call back on Friday",
                                                                          "Send the new contract"]

    forged = post("wrap-up", interaction="never-hers", follow_up="A task of her own making")
    assert forged.status_code == 409 and "is not (or no longer) yours" in unescape(forged.text)
    assert len(storage.query("Task")) == 2


class Unreachable:
    """The desk's proxy to the communication server, but ``end_wrap_up`` fails once as it
    does when no instance can be reached (the server restarting, the network cut)."""

    def __init__(self, comm):
        self.comm, self.failed = comm, False

    def __getattr__(self, name):
        return getattr(self.comm, name)

    def end_wrap_up(self, agent, interaction):
        if not self.failed:
            self.failed = True
            raise NoInstance("no reachable instance of caruso.comm/1 within 15 s")
        return self.comm.end_wrap_up(agent, interaction)


def test_a_wrap_up_the_communication_server_failed_to_end_can_be_ended_again(tmp_path, caruso_manager, comm,
                                                                            storage):
    """*End wrap-up* while the communication server cannot be reached: the desk says so and
    the wrap-up goes on. A follow-up task made by that try is shown as made, and the form
    drawn again ends the wrap-up without a second; a try without a follow-up leaves the
    field offered, so the agent may still give one."""
    context = make_context(tmp_path, caruso_manager.uri, desk=True)
    with TestClient(create_app(context), base_url="http://testserver") as client:
        csrf = signed_in(client, "ada")

        def post(path, **fields):
            return client.post(f"/desk/{path}", data={"csrf": csrf, **fields}, follow_redirects=False)

        def wrap_up_failing_once(follow_up):
            call = comm.arrive("billing", from_="+49 30 1234567")["id"]      # a queue with a wrap-up
            eventually(lambda: comm.agent("ada")["interactions"], what="the offer")
            post("accept", interaction=call)
            comm.complete("ada", call)
            context.desk.comm = Unreachable(context.desk.comm)
            failed = post("wrap-up", interaction=call, follow_up=follow_up)
            context.desk.comm = context.desk.comm.comm
            assert failed.status_code == 503 and "no reachable instance of caruso.comm/1" in failed.text
            assert call in comm.agent("ada")["wrap_up_left"]                  # it goes on
            return call, client.get(f"/desk?i={call}").text

        post("status", status="available")
        call, board = wrap_up_failing_once("Call back on Friday")
        assert "Follow-up task: Call back on Friday" in board and 'name="follow_up"' not in board
        assert post("wrap-up", interaction=call).status_code == 303 and comm.agent("ada")["wrap_up_left"] == {}

        call, board = wrap_up_failing_once("")
        assert 'name="follow_up"' in board                                   # not decided: still offered
        assert post("wrap-up", interaction=call, follow_up="Send the new tariff").status_code == 303
        assert comm.agent("ada")["wrap_up_left"] == {}
        assert sorted(task["subject"] for task in storage.query("Task")) == ["Call back on Friday",
                                                                             "Send the new tariff"]
        late = post("wrap-up", interaction=call, follow_up="A second task")   # decided: refused
        assert late.status_code == 409 and len(storage.query("Task")) == 2


def test_the_transfer_list_says_how_each_queue_would_take_the_call():
    from caruso_frontoffice.pages.desk import _readiness
    assert _readiness({"staffing": {"logged_in": 0, "ready": 0}, "waiting": 0}) == "nobody signed in"
    assert _readiness({"staffing": {"logged_in": 0, "ready": 0}, "waiting": 2}) == "nobody signed in, 2 waiting"
    assert _readiness({"staffing": {"logged_in": 3, "ready": 0}, "waiting": 4}) == "nobody ready, 4 waiting"
    assert _readiness({"staffing": {"logged_in": 3, "ready": 2}, "waiting": 0}) == "2 ready"
    assert _readiness({"staffing": {"logged_in": 3, "ready": 1}, "waiting": 1}) == "1 ready, 1 waiting"
