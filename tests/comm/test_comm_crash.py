"""``kill -9`` of the communication server (``persist = true``) under load, then a restart: the
event log and the interactions are compared with what the web chat customers, the e-mail
senders and the agents saw (docs/communication.md, "Event log" and "After a restart")."""
from __future__ import annotations

import smtplib
import threading
import time
from email.message import EmailMessage

import attrs
import httpx

from caruso_core.testing import eventually
from caruso_core.testing.processes import free_port
from caruso_comm.eventlog import EventLog
from caruso_comm.stats import Tally
from comm_records import MODEL, stored
from comm_servers import restarted


@attrs.define
class Customer:
    """A web chat customer as they saw their chat: its id and key, when the start was
    answered, and each message they wrote with the time it was accepted."""

    id: str
    key: str
    started: float
    sent: list[tuple[str, float]]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def _start(http: httpx.Client, text: str) -> Customer:
    response = http.post("/chats", json={"text": text})
    response.raise_for_status()
    return Customer(response.json()["id"], response.json()["key"], time.time(), [(text, time.time())])


def _write(http: httpx.Client, customer: Customer, text: str) -> None:
    response = http.post(f"/chats/{customer.id}/messages", json={"text": text}, headers=customer.headers)
    response.raise_for_status()
    customer.sent.append((text, time.time()))


def _mail(port: int, sender: str, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "service@acme.test", subject
    message.set_content(f"{subject}, please.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)


def _load(port: int, customers: list[Customer], stop: threading.Event, number: int) -> None:
    """One load client: new chats and messages in existing ones until ``stop`` (or the server dies)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        mine: list[Customer] = []
        try:
            while not stop.is_set():
                mine.append(_start(http, f"load {number}.{len(mine)}"))
                customers.append(mine[-1])
                for customer in mine[-3:]:
                    _write(http, customer, f"more from {customer.id[:6]} #{len(customer.sent)}")
        except httpx.HTTPError:
            return                                   # killed: what was answered until now counts


def test_a_killed_server_drops_no_chat_mail_or_agent(caruso_host, caruso_client, tmp_path):
    model = tmp_path / "crm.xml"
    model.write_text(MODEL)
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    web, smtp = free_port(), free_port()
    config = {"db": f"sqlite:///{tmp_path / 'comm.db'}", "persist": True,
              "queues": [{"name": "chat", "channel": "webchat"}, {"name": "mail", "channel": "email"}],
              "channels": {"webchat": {"queue": "chat", "port": web, "starts_per_minute": 10_000},
                           "email": {"queue": "mail", "address": "service@acme.test", "port": smtp}}}
    server = caruso_host("comm", config=config, process=True)
    comm = caruso_client.get("caruso.comm/1")
    comm.login("ann", {}, {"webchat": 2})
    comm.login("bob", {}, {"webchat": 2})
    comm.login("cy", {}, {"email": 1})
    comm.set_status("cy", "break", "coffee")

    # what happened well before the crash: all of it must come back
    http = httpx.Client(base_url=f"http://127.0.0.1:{web}", timeout=30)
    early = [_start(http, f"hello {n}") for n in range(6)]           # 4 offered (2 + 2), 2 waiting
    connected = {}
    for agent in ("ann", "bob"):
        for chat in comm.agent(agent)["interactions"][:1 if agent == "bob" else 2]:
            comm.accept(agent, chat)
            comm.send(agent, chat, f"{agent} here")
            connected[chat] = agent                                   # bob leaves one offer ringing
    for customer in early:
        _write(http, customer, "my question")
    _mail(smtp, "jo@example.org", "Meter reading")
    _mail(smtp, "max@example.org", "Move out")
    mails = eventually(lambda: comm.waiting("mail") if len(comm.waiting("mail")) == 2 else None)
    comm.set_status("cy", "available")
    comm.accept("cy", mails[0]["id"])
    connected[mails[0]["id"]] = "cy"
    before = {i: comm.interaction(i) for i in [c.id for c in early] + [m["id"] for m in mails]}
    comm.flush()
    words = 2 * len(early) + 3 + 2                                   # the customers', 3 of agents, 2 mails
    eventually(lambda: len(storage.query("CommMessage", limit=1000)) == words)
    stored(storage, "CommAgent", "cy", state="busy", status="available")

    # load until the kill
    stop, late = threading.Event(), []
    clients = [threading.Thread(target=_load, args=(web, late, stop, n), daemon=True) for n in range(3)]
    for client in clients:
        client.start()
    eventually(lambda: len(_first_stored(storage) & {c.id for c in list(late)}) >= 5)   # written behind meanwhile
    _mail(smtp, "last@example.org", "Last words")                   # accepted: written through
    server.kill()                                                    # SIGKILL: no stop(), no flush
    stop.set()
    for client in clients:
        client.join(30)
    log = EventLog(config["db"])
    logged = list(log.read())                                        # what the crash left
    caruso_host("comm", config=config, process=True)
    comm = eventually(lambda: restarted(caruso_client, "ann"))
    first_stored = _first_stored(storage)        # now: a batch the killed server had sent still lands

    # agents stay logged in, with their interactions
    assert {a: comm.agent(a)["status"] for a in ("ann", "bob", "cy")} == {
        "ann": "available", "bob": "available", "cy": "available"}
    for interaction, agent in connected.items():
        now = comm.interaction(interaction)
        assert (now["state"], now["agent"]) == ("connected", agent)
    # waiting ones wait again, with their arrival
    for interaction, then in before.items():
        if interaction not in connected:
            now = comm.interaction(interaction)
            assert now["state"] in ("waiting", "offered") and now["entered"] == then["entered"]
    assert [m["text"].strip() for m in comm.messages(mails[1]["id"], "email")] == ["Move out, please."]
    [last] = [w for w in comm.waiting("mail") if w["from"] == "last@example.org"]
    assert [m["subject"] for m in comm.messages(last["id"], "email")] == ["Last words"]

    # every chat a customer saw goes on with its conversation, unless the kill came before its
    # start was in the event log and its first message in the storage (the last second or so)
    entered = {e.interaction for e in logged if e.event == "enter"}
    open_then = entered - {e.interaction for e in logged if e.event in ("abandon", "complete", "voicemail")}
    going_on, lost = [], []
    for customer in early + late:
        read = http.get(f"/chats/{customer.id}/messages", headers=customer.headers)
        if read.status_code == 404:
            lost.append(customer.id)
            continue
        assert read.status_code == 200
        going_on.append(customer.id)
        theirs = [m["text"] for m in read.json()["messages"] if m["from"] == "visitor"]
        assert theirs == [text for text, _ in customer.sent][:len(theirs)]          # nothing invented, in order
    assert set(going_on) == {c.id for c in early + late if c.id in entered and c.id in first_stored}
    assert {c.id for c in early} <= set(going_on) and len(going_on) > len(early)
    for customer in early:                                      # all they wrote before the checkpoint
        read = http.get(f"/chats/{customer.id}/messages", headers=customer.headers).json()["messages"]
        assert [m["text"] for m in read if m["from"] == "visitor"][:2] == [customer.sent[0][0], "my question"]
    comm.flush()
    after = list(log.read(after=logged[-1].id))
    restart = [e for e in after if e.event == "restart"][0]
    assert (restart.data["kept"], restart.data["closed"], restart.data["logged_out"]) == (len(open_then), 0, 0)
    ended = {e.interaction: e for e in after if e.event in ("abandon", "complete")}
    assert {e.data.get("reason") or e.data.get("disposition") for e in ended.values()} <= {"restart"}
    assert set(ended) == {i for i in lost if i in entered}          # in the log, no transcript: ended
    assert not [e for e in after if e.event == "enter" and e.interaction in entered]    # nobody entered twice
    assert "logged_out" not in [e.data["status"] for e in logged + after if e.event == "agent_status"]

    # they go on
    waiting = next(c for c in early if c.id not in connected)
    _write(http, waiting, "still here")
    talking, agent = next((c, connected[c.id]) for c in early if c.id in connected)
    comm.complete(agent, talking.id, "answered")
    assert http.get(f"/chats/{talking.id}/messages", headers=talking.headers).json()["state"] == "ended"
    comm.flush()
    tally = Tally(20.0)
    for event in log.read():
        tally(event)
    assert tally.results(time.time())["abandoned"] == 0           # no customer left
    log.close()
    http.close()


def _first_stored(storage) -> set[str]:
    """The interactions whose first message is in the storage."""
    return {m["interaction"] for m in storage.query("CommMessage", where={"field": "position", "value": 0},
                                                    limit=10_000)}
