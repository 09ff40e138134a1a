"""Web self-service for anonymous customers over real HTTP: validation, limits, friendly messages only."""
import re

import httpx
import pytest

from caruso_core.testing.waiting import eventually
from caruso_scripts.service import ScriptService
from caruso_scripts.web import MAX_BODY, create_app

FORM = """<?xml version="1.0"?>
<script id="callback" version="1" title="Call me back">
  <question id="name" type="text" maxlength="30"><prompt>Your name?</prompt><go to="minutes"/></question>
  <question id="minutes" type="number" min="5" max="120"><prompt>In how many minutes, {name}?</prompt>
    <go to="mail" if="minutes == 99"/><go to="done"/></question>
  <question id="mail" type="yesno"><prompt>Send a mail?</prompt>
    <go to="done"><action name="email"><param name="to">mail-desk</param><param name="subject">s</param>
    <param name="body">b</param></action></go></question>
  <end id="done" outcome="booked"><text>We call {name} back in {minutes} minutes.</text></end>
</script>
"""
INTERNAL = """<?xml version="1.0"?>
<script id="internal" version="1" title="Agents only">
  <question id="q" type="yesno"><prompt>Internal?</prompt><go to="e" if="q"/><go to="e"/></question>
  <end id="e" outcome="x"/>
</script>
"""


@pytest.fixture
def site(tmp_path, serve_app):
    (tmp_path / "callback.xml").write_text(FORM)
    (tmp_path / "internal.xml").write_text(INTERNAL)
    engine = ScriptService(scripts=[str(tmp_path / "callback.xml"), str(tmp_path / "internal.xml")],
                           db=f"sqlite:///{tmp_path / 's.db'}")
    base = serve_app(create_app(engine, published=["callback"], title="Springfield Power"))
    with httpx.Client(base_url=base, timeout=30, verify=False) as client:    # plain http: no certificates to load
        yield client, engine


def start(client, script="callback"):
    created = client.post(f"/api/start/{script}")
    assert created.status_code == 201
    return created.json()


def test_json_dialog_shows_only_the_step(site):
    client, engine = site
    view = start(client)
    assert set(view) == {"session", "script", "title", "seq", "status", "outcome", "can_go_back", "step"}
    assert view["step"] == {"id": "name", "kind": "question", "type": "text", "text": "Your name?",
                            "required": True, "options": [], "maxlength": 30}
    view = client.post(f"/api/s/{view['session']}", json={"seq": 0, "answer": "Ann"}).json()
    assert view["step"]["text"] == "In how many minutes, Ann?"
    view = client.post(f"/api/s/{view['session']}", json={"seq": 1, "answer": 15}).json()
    assert (view["status"], view["outcome"]) == ("ended", "booked")
    assert view["step"]["text"] == "We call Ann back in 15 minutes."
    again = client.get(f"/api/s/{view['session']}").json()
    assert again == view
    assert "context" not in again and "answers" not in again and "actions" not in again


@pytest.mark.parametrize("answer, message", [
    ("x" * 31, "The answer is too long (at most 30 characters)."),
    ("y" * 10_000, "The answer is too long"),
    (42, "Please answer with text."),
    (["Ann"], "Please answer with text."),
    ({"a": 1}, "Please answer with text."),
    (None, "Please answer this question."),
    ("   ", "Please answer this question."),
])
def test_bad_json_answers_get_a_clear_message(site, answer, message):
    client, _ = site
    view = start(client)
    response = client.post(f"/api/s/{view['session']}", json={"seq": 0, "answer": answer})
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert client.get(f"/api/s/{view['session']}").json()["step"]["id"] == "name"


def test_wrong_type_and_range(site):
    client, _ = site
    view = start(client)
    client.post(f"/api/s/{view['session']}", json={"seq": 0, "answer": "Bo"})
    for answer, message in (("soon", "Please enter a number"), ("1e9", "Please enter a number"),
                            (True, "Please enter a number"), (500, "at most 120")):
        response = client.post(f"/api/s/{view['session']}", json={"seq": 1, "answer": answer})
        assert response.status_code == 422 and message in response.json()["error"]


@pytest.mark.parametrize("path, method, body, status", [
    ("/api/s/{s}", "post", b"x" * (MAX_BODY + 1), 413),
    ("/api/s/{s}", "post", b"{not json", 400),
    ("/api/s/{s}", "post", b"[1, 2]", 400),
    ("/api/s/0123456789abcdef0123456789abcdef", "get", None, 404),
    ("/api/s/..%2F..%2Fetc", "get", None, 404),
    ("/api/start/internal", "post", None, 404),
    ("/api/start/nope", "post", None, 404),
])
def test_refusals_are_friendly_json(site, path, method, body, status):
    client, _ = site
    view = start(client)
    response = client.request(method.upper(), path.format(s=view["session"]), content=body,
                              headers={"content-type": "application/json"})
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert "Traceback" not in response.text and "caruso" not in response.text.lower()


def test_sessions_of_unpublished_scripts_are_invisible(site):
    client, engine = site
    internal = engine.begin("internal")
    assert client.get(f"/api/s/{internal['session']}").status_code == 404
    assert client.get(f"/s/{internal['session']}").status_code == 404


def test_internal_errors_are_not_shown(site):
    client, _ = site
    view = start(client)
    client.post(f"/api/s/{view['session']}", json={"seq": 0, "answer": "Ann"})
    client.post(f"/api/s/{view['session']}", json={"seq": 1, "answer": 99})
    response = client.post(f"/api/s/{view['session']}", json={"seq": 2, "answer": "yes"})   # the script's bad address
    assert response.status_code == 500
    assert response.json() == {"error": "Sorry, something went wrong on our side. Please try again later or call us."}
    assert client.get(f"/api/s/{view['session']}").json()["step"]["id"] == "mail"


def test_html_pages_with_forms(site):
    client, _ = site
    index = client.get("/")
    assert index.status_code == 200 and "Call me back" in index.text and "Agents only" not in index.text
    assert index.headers["content-security-policy"].startswith("default-src 'none'")
    page = client.post("/start/callback", follow_redirects=True)
    session = page.url.path.rsplit("/", 1)[1]
    assert 'maxlength="30"' in page.text and "Your name?" in page.text
    rejected = client.post(f"/s/{session}", data={"seq": "0", "answer": "<script>alert(1)</script>" * 2})
    assert rejected.status_code == 422
    assert "The answer is too long (at most 30 characters)." in rejected.text
    assert "<script>alert" not in rejected.text and "&lt;script&gt;" in rejected.text
    page = client.post(f"/s/{session}", data={"seq": "0", "answer": "<b>Ann</b>"}, follow_redirects=True)
    assert "In how many minutes, &lt;b&gt;Ann&lt;/b&gt;?" in page.text
    same = client.post(f"/s/{session}", data={"seq": "0", "answer": "<b>Ann</b>"}, follow_redirects=True)
    assert same.status_code == 200 and "In how many minutes" in same.text      # a double submit is harmless
    stale = client.post(f"/s/{session}", data={"seq": "0", "answer": "Bo"})
    assert stale.status_code == 409 and "The page was out of date" in stale.text
    back = client.post(f"/s/{session}", data={"seq": "1", "back": "1"}, follow_redirects=True)
    assert "Your name?" in back.text
    seq = re.search(r'name="seq" value="(\d+)"', back.text).group(1)
    page = client.post(f"/s/{session}", data={"seq": seq, "answer": "Cy"}, follow_redirects=True)
    seq = re.search(r'name="seq" value="(\d+)"', page.text).group(1)
    page = client.post(f"/s/{session}", data={"seq": seq, "answer": "30"}, follow_redirects=True)
    assert "We call Cy back in 30 minutes." in page.text
    assert client.get("/s/nonsense").status_code == 404
    too_many = client.post(f"/s/{session}", content="&".join(f"f{n}=1" for n in range(20)),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert too_many.status_code == 400


def test_a_repeated_back_goes_back_once(site):
    client, _ = site
    view = start(client)
    view = client.post(f"/api/s/{view['session']}", json={"seq": 0, "answer": "Ann"}).json()
    back = client.post(f"/api/s/{view['session']}", json={"seq": 1, "back": True})
    assert back.status_code == 200 and back.json()["step"]["id"] == "name"
    again = client.post(f"/api/s/{view['session']}", json={"seq": 1, "back": True})
    assert again.status_code == 409
    assert client.get(f"/api/s/{view['session']}").json()["step"]["id"] == "name"


def test_one_address_may_start_only_so_many_dialogs_a_minute(tmp_path, serve_app):
    (tmp_path / "callback.xml").write_text(FORM)
    engine = ScriptService(scripts=str(tmp_path / "callback.xml"), db=f"sqlite:///{tmp_path / 's.db'}")
    base = serve_app(create_app(engine, starts_per_minute=3))
    with httpx.Client(base_url=base, timeout=30) as client:
        assert [client.post("/api/start/callback").status_code for _ in range(4)] == [201, 201, 201, 429]
        refused = client.post("/start/callback")
        assert refused.status_code == 429 and "try again in a minute" in refused.text
    assert len(engine.sessions()) == 3


BLOCK = """<?xml version="1.0"?>
<script id="block" version="1" title="Block a card">
  <question id="reason" type="choice"><prompt>Why?</prompt>
    <option value="lost">Lost</option><option value="stolen">Stolen</option><go to="confirm"/></question>
  <question id="confirm" type="yesno"><prompt>Block the card ({reason})?</prompt>
    <go to="minutes" if="confirm"><action name="email"><param name="to">ann@example.org</param>
      <param name="subject">Card blocked</param><param name="body">Blocked: {reason}.</param></action></go>
    <go to="minutes"/></question>
  <question id="minutes" type="number" min="0"><prompt>Minutes until you call again?</prompt>
    <go to="done"><action name="email"><param name="to">ann@example.org</param>
      <param name="subject">Call back</param><param name="body">In {minutes} minutes.</param></action></go></question>
  <end id="done" outcome="blocked"><text>In {100 / minutes} hundredths of your time.</text></end>
</script>
"""


@pytest.fixture
def mailing(tmp_path, serve_app, smtp_server):
    (tmp_path / "block.xml").write_text(BLOCK)
    engine = ScriptService(scripts=str(tmp_path / "block.xml"), db=f"sqlite:///{tmp_path / 's.db'}",
                           settings={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port})
    engine.start()
    try:
        with httpx.Client(base_url=serve_app(create_app(engine)), timeout=30) as client:
            yield client, smtp_server, engine
    finally:
        engine.stop()


def mails(engine):
    """How many messages the engine queued (sent or not)."""
    shown = engine.mail_outbox()
    return shown["queued"] + shown["sent"] + shown["failed"]


def subjects(mailbox, count):
    """The subjects of the first ``count`` messages the server received, once it has them."""
    received = eventually(lambda: mailbox.messages, lambda messages: len(messages) >= count)
    return [message["Subject"] for message in received]


def post(client, view, **body):
    response = client.post(f"/api/s/{view['session']}", json={"seq": view["seq"], **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_answer_and_back_cycles_run_the_actions_of_a_transition_once(mailing):
    client, mailbox, engine = mailing
    view = post(client, start(client, "block"), answer="lost")
    view = post(client, view, answer="no")                     # no block: that transition has no action
    view = post(client, view, back=True)
    for _ in range(5):
        view = post(client, view, answer="yes")
        assert view["step"]["id"] == "minutes"
        view = post(client, view, back=True)
    assert mails(engine) == 1
    view = post(client, post(client, view, back=True), answer="stolen")    # another answer, the same transitions
    view = post(client, view, answer="yes")
    assert mails(engine) == 1 and subjects(mailbox, 1) == ["Card blocked"]
    ended = post(client, view, answer=10)
    assert (ended["status"], ended["outcome"]) == ("ended", "blocked")
    again = client.post(f"/api/s/{view['session']}", json={"seq": ended["seq"], "back": True})
    assert again.status_code == 409
    assert client.get(f"/api/s/{view['session']}").json() == ended      # an ended dialog stays ended
    assert mails(engine) == 2 and subjects(mailbox, 2) == ["Card blocked", "Call back"]


def test_the_next_step_is_shown_before_the_actions_run_and_the_dialog_moves(mailing):
    client, mailbox, engine = mailing
    view = post(client, post(client, start(client, "block"), answer="lost"), answer="no")
    assert view["step"]["id"] == "minutes"
    failed = client.post(f"/api/s/{view['session']}", json={"seq": view["seq"], "answer": 0})   # 100 / 0
    assert failed.status_code == 500
    assert client.get(f"/api/s/{view['session']}").json() == view
    assert mails(engine) == 0
    ended = post(client, view, answer=4)
    assert ended["step"]["text"] == "In 25 hundredths of your time."
    assert mails(engine) == 1
    assert eventually(lambda: [m.get_payload().strip() for m in mailbox.messages]) == ["In 4 minutes."]


@pytest.mark.parametrize("body", [b'{"answer": "Ann"}', b'{"seq": null, "answer": "Ann"}',
                                  b'{"seq": "abc", "answer": "Ann"}', b'{"seq": 1e400, "answer": "Ann"}',
                                  b'{"seq": 0.0, "answer": "Ann"}', b'{"seq": true, "answer": "Ann"}',
                                  b'{"seq": -1, "answer": "Ann"}', b'{"seq": "", "answer": "Ann"}',
                                  b'{"back": true}', b'{"seq": "\\u0660", "answer": "Ann"}'])
def test_an_answer_without_a_valid_seq_is_refused_and_not_applied(site, body):
    client, _ = site
    view = start(client)
    refused = client.post(f"/api/s/{view['session']}", content=body, headers={"content-type": "application/json"})
    assert refused.status_code == 400
    assert refused.json() == {"error": "Send the 'seq' of the step you answer (a whole number, from the dialog)."}
    assert client.get(f"/api/s/{view['session']}").json() == view


@pytest.mark.parametrize("form", [{"answer": "Ann"}, {"seq": "x", "answer": "Ann"}, {"seq": "", "answer": "Ann"}])
def test_a_form_without_a_valid_seq_is_shown_again_and_not_applied(site, form):
    client, _ = site
    view = start(client)
    refused = client.post(f"/s/{view['session']}", data=form)
    assert refused.status_code == 400
    assert "The form was not complete; please answer again." in refused.text and 'value="Ann"' in refused.text
    assert client.get(f"/api/s/{view['session']}").json() == view
