"""The webchat (HTTP) and email (SMTP) channels on a running communication server."""
from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

import httpx
import pytest

from caruso_core.errors import ConfigError
from caruso_comm.service import CommServer


def _eventually(check, limit: float = 30.0):
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def running(tmp_path):
    servers = []

    def start(**config) -> CommServer:
        server = CommServer(db=f"sqlite:///{tmp_path / 'comm.db'}", **config)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_two_customers_chat_concurrently_with_one_agent_of_capacity_two(running):
    server = running(queues=[{"name": "chat", "channel": "webchat"}],
                     channels={"webchat": {"queue": "chat", "agent_token": "s3cret"}})
    url = server.channels()["webchat"]["url"]
    server.login("ann", {}, {"webchat": 2})
    agent = {"Authorization": "Bearer s3cret"}
    with httpx.Client(base_url=url, timeout=30) as http:
        chats = {}
        for customer in ("alice", "bert"):
            response = http.post("/chats", json={"customer": customer, "text": f"hello from {customer}"})
            assert response.status_code == 201
            chats[customer] = response.json()["id"]
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
            http.post(f"/chats/{chat}/messages", json={"text": f"thanks, {customer} here"})
        for customer, chat in chats.items():
            read = http.get(f"/chats/{chat}/messages").json()
            assert read["state"] == "connected"
            assert [(m["from"], m["text"]) for m in read["messages"]] == [
                (customer, f"hello from {customer}"), ("ann", f"hi {customer}"),
                (customer, f"thanks, {customer} here")]
            assert len(http.get(f"/chats/{chat}/messages", params={"after": 2}).json()["messages"]) == 1
        third = http.post("/chats", json={"customer": "carl", "text": "anyone?"}).json()["id"]
        assert server.interaction(third)["state"] == "waiting"
        http.post(f"/agents/ann/chats/{chats['alice']}/complete", json={"disposition": "answered"},
                  headers=agent)
        assert server.interaction(third)["offers"] == ["ann"]
        assert http.get(f"/chats/{chats['alice']}/messages").json()["state"] == "ended"
        refused = http.post(f"/agents/ann/chats/{chats['alice']}/messages", json={"text": "late"},
                            headers=agent)
        assert refused.status_code == 409 and "not connected" in refused.json()["error"]
        assert http.post("/chats", json={"customer": "dora"}).status_code == 400
        assert http.post("/chats", json={"customer": "eve", "text": "x" * 20000}).status_code == 400
        page = http.get("/")
        assert page.status_code == 200 and '<script src="chat.js">' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert "fetch(" in http.get("/chat.js").text


def test_an_email_becomes_an_interaction_for_the_customer_and_the_reply_reaches_the_sink(running, smtp_server):
    server = running(
        queues=[{"name": "mail", "channel": "email"}],
        channels={"email": {"queue": "mail", "address": "service@acme.test", "relay_port": smtp_server.port,
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
    offered = _eventually(lambda: server.agent("ann")["interactions"])
    interaction = server.accept("ann", offered[0])
    assert (interaction["customer"], interaction["from"], interaction["channel"]) == (
        "customer-42", "jo@example.org", "email")
    assert server.messages(interaction["id"], "email")[0]["text"].strip() == "My meter shows 4711."
    server.send("ann", interaction["id"], "Thank you, noted.")
    server.complete("ann", interaction["id"], "answered")
    reply = str(_eventually(lambda: smtp_server.messages)[0])
    assert smtp_server.recipients[0] == ["jo@example.org"]
    assert "Subject: Re: Meter reading" in reply and "In-Reply-To: <m1@example.org>" in reply
    assert "Thank you, noted." in reply


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

    completed = _eventually(lambda: len(events("complete")) >= 10 and events("complete"))
    assert {e["agent"] for e in completed} == {"sim-agent-1", "sim-agent-2"}
    assert _eventually(lambda: events("abandon"))


def test_transcripts_keep_the_latest_interactions():
    from caruso_channels.transcript import Transcripts

    transcripts = Transcripts(capacity=2)
    for chat in ("a", "b", "c"):
        transcripts.add(chat, "customer", f"hello from {chat}")
    transcripts.add("b", "agent", "hi")
    assert transcripts.of("a") == []
    assert [m["text"] for m in transcripts.of("b")] == ["hello from b", "hi"]
    assert [m["text"] for m in transcripts.of("b", after=1)] == ["hi"]
