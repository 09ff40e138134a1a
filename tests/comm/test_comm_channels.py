"""The webchat (HTTP) and email (SMTP) channels on a running communication server."""
from __future__ import annotations

import email
import email.utils
import logging
import smtplib
import socket
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from caruso_core.context import HostContext
from caruso_core.errors import ConfigError, Conflict, InvalidInput, NotFound, Unavailable
from caruso_core.testing import eventually
from caruso_core.testing.mail import SmtpServer
from caruso_core.testing.processes import free_port
from caruso_comm.service import CommServer
from comm_servers import running  # noqa: F401  (a fixture)


CHAT = {"queues": [{"name": "chat", "channel": "webchat"}]}


def _chat(server):
    """An HTTP client of the server's web chat."""
    return httpx.Client(base_url=server.channels()["webchat"]["url"], timeout=30)


def _key(started):
    return {"Authorization": f"Bearer {started.json()['key']}"}


def test_two_customers_chat_concurrently_with_one_agent_of_capacity_two(running):
    server = running(**CHAT, channels={"webchat": {"queue": "chat", "agent_token": "s3cret"}})
    server.login("ann", {}, {"webchat": 2})
    agent = {"Authorization": "Bearer s3cret"}
    with _chat(server) as http:
        chats, keys = {}, {}
        for customer in ("alice", "bert"):
            response = http.post("/chats", json={"text": f"hello from {customer}"})
            assert response.status_code == 201
            chats[customer], keys[customer] = response.json()["id"], _key(response)
        assert sorted(server.agent("ann")["interactions"]) == sorted(chats.values())
        refused = http.post(f"/agents/ann/chats/{chats['alice']}/accept")
        assert refused.status_code == 403 and "Authorization" in refused.json()["error"]
        wrong = http.post(f"/agents/ann/chats/{chats['alice']}/accept", headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 403
        for customer, chat in chats.items():
            accepted = http.post(f"/agents/ann/chats/{chat}/accept", headers=agent)
            assert accepted.json()["state"] == "connected"
        assert server.agent("ann")["state"] == "busy"
        for customer, chat in chats.items():
            http.post(f"/agents/ann/chats/{chat}/messages", json={"text": f"hi {customer}"}, headers=agent)
            assert http.post(f"/chats/{chat}/messages", json={"text": f"thanks, {customer} here"},
                             headers=keys[customer]).status_code == 200
        for customer, chat in chats.items():
            read = http.get(f"/chats/{chat}/messages", headers=keys[customer]).json()
            assert read["state"] == "connected"
            assert [(m["from"], m["text"]) for m in read["messages"]] == [
                ("visitor", f"hello from {customer}"), ("agent", f"hi {customer}"),
                ("visitor", f"thanks, {customer} here")]
            assert len(http.get(f"/chats/{chat}/messages", params={"after": 2},
                                headers=keys[customer]).json()["messages"]) == 1
            for other in ("\u00b2", "\u0663"):         # digits to str.isdigit(), not to a count
                assert http.get(f"/chats/{chat}/messages", params={"after": other},
                                headers=keys[customer]).status_code == 400
        third = http.post("/chats", json={"text": "anyone?"}).json()["id"]
        assert server.interaction(third)["state"] == "waiting"
        http.post(f"/agents/ann/chats/{chats['alice']}/complete", json={"disposition": "answered"},
                  headers=agent)
        assert server.interaction(third)["offers"] == ["ann"]
        assert http.get(f"/chats/{chats['alice']}/messages", headers=keys["alice"]).json()["state"] == "ended"
        refused = http.post(f"/agents/ann/chats/{chats['alice']}/messages", json={"text": "late"},
                            headers=agent)
        assert refused.status_code == 409 and "not connected" in refused.json()["error"]
        late = http.post(f"/chats/{chats['alice']}/messages", json={"text": "still there?"}, headers=keys["alice"])
        assert (late.status_code, late.json()["error"]) == (409, "this chat has ended")      # no internal id
        assert http.post("/chats", json={}).status_code == 400
        page = http.get("/")
        assert page.status_code == 200 and '<script src="chat.js">' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert "fetch(" in http.get("/chat.js").text


def test_an_anonymous_visitor_cannot_claim_a_customer(running):
    server = running(**CHAT, channels={"webchat": {"queue": "chat"}})
    with _chat(server) as http:
        claimed = http.post("/chats", json={"customer": "1", "text": "hi"})
        assert claimed.status_code == 400 and "comes only from a pass" in claimed.json()["error"]
        assert server.waiting("chat") == []                              # nothing was queued
        anonymous = http.post("/chats", json={"text": "hi"})
        assert anonymous.status_code == 201
        [chat] = server.waiting("chat")
        assert (chat["customer"], chat["from"]) == (None, None)           # nothing for a screen pop to find
        forged = http.post("/chats", json={"text": "hi", "pass": "eyJjdXN0b21lciI6ICIxIn0.AAAA"})
        assert forged.status_code == 400 and "not valid here" in forged.json()["error"]
        assert len(server.waiting("chat")) == 1


def test_a_pass_from_the_server_names_the_customer_of_one_chat(running):
    port = free_port()
    server = running(**CHAT, channels={"webchat": {"queue": "chat", "port": port,
                                                   "public_url": "https://chat.example.com"}})
    issued = server.chat_pass("7", "cora")
    assert issued["url"].startswith("https://chat.example.com/#pass=") and issued["expires"] > time.time()
    assert server.channels()["webchat"]["url"] == "https://chat.example.com"
    presented = issued["url"].split("#pass=", 1)[1]
    payload, mac = presented.split(".")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        tampered = http.post("/chats", json={"text": "hi", "pass": f"{payload[:-2]}xx.{mac}"})
        assert tampered.status_code == 400 and server.waiting("chat") == []
        started = http.post("/chats", json={"text": "Is my contract active?", "pass": presented})
        assert started.status_code == 201
        chat = server.interaction(started.json()["id"])
        assert chat["customer"] == "7" and chat["from"] is None
        assert [m["from"] for m in server.messages(chat["id"], "webchat")] == ["cora"]
        replayed = http.post("/chats", json={"text": "again", "pass": presented})
        assert replayed.status_code == 400 and "used already" in replayed.json()["error"]
    with pytest.raises(InvalidInput, match="customer of 1 to 200 characters"):
        server.chat_pass("", "nobody")


def test_passes_expire():
    from caruso_comm.channels.chatpass import LIFETIME, ChatPasses

    now = [1000.0]
    passes = ChatPasses(clock=lambda: now[0])
    issued, expires = passes.issue("7", "cora")
    assert expires == 1000.0 + LIFETIME
    now[0] = expires
    with pytest.raises(InvalidInput, match="expired"):
        passes.redeem(issued)
    with pytest.raises(InvalidInput, match="not valid here"):
        ChatPasses().redeem(passes.issue("7", "cora")[0])                # another instance's key
    payload = issued.partition(".")[0]
    for mac in ("\u00e9", "\ud800", ""):                                # what a peer's JSON may hold
        with pytest.raises(InvalidInput, match="not valid here"):
            passes.redeem(f"{payload}.{mac}")


def test_chat_starts_are_limited_per_client_address(running):
    server = running(**CHAT, channels={"webchat": {"queue": "chat"}})
    with _chat(server) as http:
        codes = [http.post("/chats", json={"text": f"flood {n}"}).status_code for n in range(50)]
        assert codes == [201] * 10 + [429] * 40                          # 10 a minute by default
        assert len(server.waiting("chat")) == 10
        refused = http.post("/chats", json={"text": "one more"})
        assert "too many chats from your address" in refused.json()["error"]
        assert 0 < int(refused.headers["retry-after"]) <= 60
        other = {"X-Forwarded-For": "203.0.113.9"}                       # as the local proxy names a client
        assert http.post("/chats", json={"text": "hello"}, headers=other).status_code == 201
        network = [{"X-Forwarded-For": f"2001:db8:1:2::{n}"} for n in range(1, 12)]   # one /64
        assert [http.post("/chats", json={"text": "hi"}, headers=h).status_code
                for h in network] == [201] * 10 + [429]


def test_a_chat_is_bounded_in_messages_bytes_and_body_and_open_only_with_its_key(running):
    server = running(**CHAT, channels={"webchat": {"queue": "chat", "max_messages": 3, "max_bytes": 8000}})
    with _chat(server) as http:
        started = http.post("/chats", json={"text": "€" * 2000})         # 6000 bytes
        chat, key = started.json()["id"], _key(started)
        too_big = http.post(f"/chats/{chat}/messages", json={"text": "€" * 1000}, headers=key)
        assert too_big.status_code == 413 and "at most 8000 bytes" in too_big.json()["error"]
        for text in ("second", "third"):
            assert http.post(f"/chats/{chat}/messages", json={"text": text}, headers=key).status_code == 200
        fourth = http.post(f"/chats/{chat}/messages", json={"text": "fourth"}, headers=key)
        assert fourth.status_code == 429 and "at most 3 messages" in fourth.json()["error"]
        assert [m["text"] for m in server.messages(chat, "webchat")][1:] == ["second", "third"]
        assert http.post("/chats", json={"text": "x" * 2001}).status_code == 413
        assert http.post("/chats", content=b'{"text": "' + b"x" * 20000 + b'"}').status_code == 413
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            assert http.get(f"/chats/{chat}/messages", headers=headers).status_code == 404
            assert http.post(f"/chats/{chat}/messages", json={"text": "hi"}, headers=headers).status_code == 404
            assert http.post(f"/chats/{chat}/leave", headers=headers).status_code == 404
        assert http.get(f"/chats/{chat}/messages", params={"after": "x"}, headers=key).status_code == 400
        assert http.post(f"/chats/{chat}/leave", headers=key).status_code == 200
        assert http.get(f"/chats/{chat}/messages", headers=key).json()["state"] == "ended"
        server.login("ann", {}, {"webchat": 1})                       # a connected chat, left again and again
        talking = http.post("/chats", json={"text": "hello"})
        server.accept("ann", talking.json()["id"])
        for _ in range(5):
            assert http.post(f"/chats/{talking.json()['id']}/leave", headers=_key(talking)).status_code == 200
        assert [m["text"] for m in server.messages(talking.json()["id"], "webchat")] == ["hello", "(left the chat)"]


def test_while_a_swap_exports_the_chats_writes_are_answered_503_and_taken_again_after(running):
    """Between ``export_state`` and the swap's end a write could be lost with the old instance:
    customers and agents are told to send it again (503, Retry-After); if the swap fails
    (``resume``) the chat goes on here."""
    server = running(**CHAT, channels={"webchat": {"queue": "chat", "agent_token": "s3cret"}})
    server.login("ann", {}, {"webchat": 1})
    with _chat(server) as http:
        started = http.post("/chats", json={"text": "hello"}).json()
        key = {"Authorization": f"Bearer {started['key']}"}
        agent = {"Authorization": "Bearer s3cret"}
        exported = server.export_state()
        assert [chat for chat in exported["channels"]["webchat"]["chats"]] == [started["id"]]
        assert [m["text"] for _, _, m in exported["transcripts"]["webchat"]] == ["hello"]
        for refused in (http.post(f"/chats/{started['id']}/messages", json={"text": "lost?"}, headers=key),
                        http.post("/chats", json={"text": "another"}),
                        http.post(f"/agents/ann/chats/{started['id']}/accept", headers=agent)):
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert "being replaced: send it again" in refused.json()["error"]
        assert http.get(f"/chats/{started['id']}/messages", headers=key).status_code == 200   # reading goes on
        server.resume()
        assert http.post(f"/chats/{started['id']}/messages", json={"text": "again"}, headers=key).status_code == 200
        assert [m["text"] for m in server.messages(started["id"], "webchat")] == ["hello", "again"]


def test_a_standby_whose_chat_port_another_program_holds_gives_the_work_up_again(running, tmp_path):
    """A swap's import makes the standby listen on the web chat's port; when a program that
    does not share it holds it, the import fails and the instance takes no work (its timers
    stay quiet, it has nothing to hand on): the manager then resumes the old instance."""
    port = free_port()
    config = {**CHAT, "channels": {"webchat": {"queue": "chat", "port": port}}}
    state = running(**CHAT, channels={"webchat": {"queue": "chat"}}).export_state()
    standby = CommServer(db=f"sqlite:///{tmp_path / 'standby.db'}", **config,
                         context=HostContext(None, "comm", logging.getLogger("caruso.comm"), standby=True))
    standby.start()                                       # a standby: the port is not taken yet
    try:
        with socket.create_server(("127.0.0.1", port)):  # another program's, not shared
            with pytest.raises(ConfigError, match=f"webchat could not listen on 127.0.0.1:{port}"):
                standby.import_state(state)
        with pytest.raises(Conflict, match="this instance is retired"):
            standby.export_state()
    finally:
        standby.stop()


def test_a_successor_given_no_port_takes_its_predecessors(running, tmp_path):
    """``port = 0`` lets the first instance choose a free port; the instance a swap makes
    active listens on that one, so customers keep their chat's address."""
    first = running(**CHAT, channels={"webchat": {"queue": "chat"}})
    with _chat(first) as http:
        started = http.post("/chats", json={"text": "hello"}).json()
    state = first.export_state()
    successor = CommServer(db=f"sqlite:///{tmp_path / 'next.db'}", **CHAT, channels={"webchat": {"queue": "chat"}},
                           context=HostContext(None, "comm", logging.getLogger("caruso.comm"), standby=True))
    successor.start()
    try:
        successor.import_state(state)
        first.deactivate()
        assert successor.channels()["webchat"]["url"] == first.channels()["webchat"]["url"]
        with _chat(successor) as http:
            written = http.post(f"/chats/{started['id']}/messages", json={"text": "still here"},
                                headers={"Authorization": f"Bearer {started['key']}"})
        assert written.status_code == 200 and [m["text"] for m in successor.messages(started["id"], "webchat")] \
            == ["hello", "still here"]
    finally:
        successor.stop()


def test_the_chat_page_may_be_framed_only_by_the_configured_origins(running, tmp_path):
    closed = running(**CHAT, channels={"webchat": {"queue": "chat"}})
    with _chat(closed) as http:
        page = http.get("/")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
    with pytest.raises(ConfigError, match="frame_ancestors must be a list of origins"):
        CommServer(db=f"sqlite:///{tmp_path / 'x.db'}", **CHAT,
                   channels={"webchat": {"queue": "chat", "frame_ancestors": ["https://a.example\n"]}})


def test_an_email_becomes_an_interaction_for_the_customer_and_the_reply_reaches_the_sink(running, smtp_tls, tmp_path):
    """The reply goes through a relay asking for STARTTLS and a login."""
    smtp_server = SmtpServer("starttls", smtp_tls.relay, users={"desk": "relay-password"}).start()
    (tmp_path / "relay-password").write_text("relay-password")
    (tmp_path / "relay-password").chmod(0o600)
    try:
        _email_reaches_an_agent_and_the_reply_the_relay(running, smtp_server, {
            "relay_port": smtp_server.port, "relay_security": "starttls", "relay_ca_file": str(smtp_tls.ca),
            "relay_username": "desk", "relay_password_file": str(tmp_path / "relay-password")})
    finally:
        smtp_server.stop()
    assert (smtp_server.secured, smtp_server.logins) == ([True], ["desk"])
    with pytest.raises(ConfigError, match="^channel email: relay_security is one of none, starttls, tls, not 'yes'$"):
        CommServer(db=f"sqlite:///{tmp_path / 'x.db'}", channels={"email": {
            "queue": "mail", "address": "service@acme.test", "relay_security": "yes"}})
    with pytest.raises(ConfigError, match="^channel email: unknown setting 'relay'$"):
        CommServer(db=f"sqlite:///{tmp_path / 'x.db'}", channels={"email": {
            "queue": "mail", "address": "service@acme.test", "relay": "mail.example.org"}})


def _email_reaches_an_agent_and_the_reply_the_relay(running, smtp_server, relay):
    server = running(
        queues=[{"name": "mail", "channel": "email"}],
        channels={"email": {"queue": "mail", "address": "service@acme.test", **relay,
                            "customers": {"Jo@Example.org": "customer-42"}}})
    server.login("ann", {}, {"email": 1})
    message = EmailMessage()
    message["From"] = "Jo <jo@example.org>"
    message["To"] = "service@acme.test"
    message["Subject"] = "Meter reading"
    message["Message-ID"] = "<m1@example.org>"
    message.set_content("My meter shows 4711.")
    smtp_port = int(server.channels()["email"]["smtp"].rsplit(":", 1)[1])
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        smtp.send_message(message)
    offered = eventually(lambda: server.agent("ann")["interactions"], what="an offered email")
    interaction = server.accept("ann", offered[0])
    assert (interaction["customer"], interaction["from"], interaction["channel"]) == (
        "customer-42", "jo@example.org", "email")
    assert server.messages(interaction["id"], "email")[0]["text"].strip() == "My meter shows 4711."
    if "relay_password_file" in relay:                     # read for each reply: one others may read is refused
        password = Path(relay["relay_password_file"])
        password.chmod(0o644)
        with pytest.raises(Unavailable) as refused:
            server.send("ann", interaction["id"], "Thank you, noted.")
        assert str(refused.value) == (f"the reply was not sent: 127.0.0.1:{smtp_server.port}: relay_password_file "
                                      f"may be read by other users (mode 0644): chmod 600 {password}")
        assert len(server.messages(interaction["id"], "email")) == 1
        password.chmod(0o600)
    server.send("ann", interaction["id"], "Thank you, noted.")
    server.complete("ann", interaction["id"], "answered")
    reply = str(eventually(lambda: smtp_server.messages, what="the emailed reply")[0])
    assert smtp_server.recipients[0] == ["jo@example.org"]
    assert "Subject: Re: Meter reading" in reply and "In-Reply-To: <m1@example.org>" in reply
    assert "References: <m1@example.org>" in reply and "Thank you, noted." in reply
    headers = email.message_from_string(reply)                  # its own id and date: mail programs thread it
    assert headers["Message-ID"].endswith("@acme.test>") and email.utils.parsedate_to_datetime(headers["Date"])


def test_an_unknown_channel_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="no channel 'pigeon'"):
        CommServer(db=f"sqlite:///{tmp_path / 'c.db'}", channels={"pigeon": {}})



def test_the_sim_channel_drives_a_running_server_with_callers_and_agents(running):
    server = running(queues=[{"name": "demo"}], channels={"sim": {
        "queue": "demo", "calls_per_hour": 150, "aht": 60, "agents": 2, "patience": 20,
        "speed": 120, "seed": 1}})
    assert server.channels()["sim"]["agents"] == ["sim-agent-1", "sim-agent-2"]

    def events(kind):
        return [e for e in server.events(0, 0)["events"] if e["event"] == kind]

    completed = eventually(lambda: events("complete"), lambda done: len(done) >= 10, what="10 completed calls")
    assert {e["agent"] for e in completed} == {"sim-agent-1", "sim-agent-2"}
    assert eventually(lambda: events("abandon"), what="an abandoned call")


def test_transcripts_keep_the_latest_interactions():
    from caruso_comm.channels.transcript import Transcripts

    transcripts = Transcripts(capacity=2)
    for chat in ("a", "b", "c"):
        transcripts.add(chat, "customer", f"hello from {chat}")
    transcripts.add("b", "agent", "hi")
    assert transcripts.of("a") == []
    assert [m["text"] for m in transcripts.of("b")] == ["hello from b", "hi"]
    assert [m["text"] for m in transcripts.of("b", after=1)] == ["hi"]


def test_transcripts_know_the_messages_received_they_keep_by_sender_and_message_id():
    from caruso_comm.channels.transcript import Transcripts

    transcripts = Transcripts(capacity=2)
    transcripts.add("a", "jo@example.org", "first", message_id="<1@x>")
    transcripts.add("b", "jo@example.org", "second", message_id="<2@x>")
    assert transcripts.received("jo@example.org", "<1@x>") == "a" and transcripts.received("eve@x", "<1@x>") is None
    transcripts.add("c", "jo@example.org", "third")                     # "a" is no longer kept
    assert transcripts.received("jo@example.org", "<1@x>") is None
    transcripts.load([("b", 0, {"from": "jo@example.org", "text": "again", "message_id": "<3@x>"})])
    assert (transcripts.received("jo@example.org", "<2@x>"), transcripts.received("jo@example.org", "<3@x>")) == (
        None, "b")                                                      # replaced by what was stored


def test_an_unknown_queue_is_not_found_in_one_line(tmp_path):
    server = CommServer(db=f"sqlite:///{tmp_path / 'c.db'}", queues=[{"name": "sales"}])
    with pytest.raises(NotFound, match="^no queue 'nosuch'$"):
        server.waiting("nosuch")
    assert server.waiting("sales") == []
