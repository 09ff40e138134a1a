"""A restarted communication server with ``persist`` takes back what its channels still hold:
chats and e-mails wait again with their arrival time or stay with their agent, transcripts
come back, agents stay logged in; what no channel holds ends with reason ``restart``
(docs/communication.md, "Event log" and "After a restart")."""
from __future__ import annotations

import smtplib
import threading
from email.message import EmailMessage

import httpx
import pytest

from caruso_core.errors import NotFound
from caruso_core.testing import eventually
from caruso_core.testing.processes import free_port
from caruso_comm.channels.voice import VoiceChannel
from caruso_comm.eventlog import EventLog
from comm_records import MODEL, stored

@pytest.fixture
def storage(caruso_host, caruso_client, tmp_path):
    model = tmp_path / "crm.xml"
    model.write_text(MODEL)
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    return caruso_client.get("caruso.storage/1")


def _config(tmp_path, **extra):
    return {"db": f"sqlite:///{tmp_path / 'comm.db'}", "persist": True, **extra}


def _logged(config, *names):
    log = EventLog(config["db"])
    try:
        return [event for event in log.read() if event.event in names]
    finally:
        log.close()


def _chat_server(caruso_host, caruso_client, tmp_path):
    """A server with a web chat on a port of its own, and ann logged in for one chat."""
    port = free_port()
    config = _config(tmp_path, queues=[{"name": "chat", "channel": "webchat"}],
                     channels={"webchat": {"queue": "chat", "port": port}})
    host = caruso_host("comm", config=config)
    comm = caruso_client.get("caruso.comm/1")
    comm.login("ann", {}, {"webchat": 1})
    return config, port, host, comm


def _messages_stored(storage, count):
    return eventually(lambda: len(storage.query("CommMessage", limit=1000)) >= count)


def test_chats_go_on_after_a_restart_with_their_keys_transcripts_places_and_agents(
        storage, caruso_host, caruso_client, tmp_path):
    config, port, host, comm = _chat_server(caruso_host, caruso_client, tmp_path)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        started = [http.post("/chats", json={"text": f"hello {n}"}).json() for n in range(3)]
        talking, first, second = started
        keys = {chat["id"]: {"Authorization": f"Bearer {chat['key']}"} for chat in started}
        comm.accept("ann", talking["id"])
        comm.send("ann", talking["id"], "hi, ann here")
        assert http.post(f"/chats/{talking['id']}/messages", json={"text": "my bill"},
                         headers=keys[talking["id"]]).status_code == 200
        before = {chat["id"]: comm.interaction(chat["id"]) for chat in started}
        comm.flush()
        _messages_stored(storage, 5)
        stored(storage, "CommAgent", "ann", state="busy")
        host.stop()                                               # no hand-over: a cold start follows
        with pytest.raises(httpx.TransportError):
            http.get(f"/chats/{first['id']}/messages", headers=keys[first["id"]])
        caruso_host("comm", config=config)
        assert (comm.agent("ann")["status"], comm.agent("ann")["state"]) == ("available", "busy")
        now = {chat["id"]: comm.interaction(chat["id"]) for chat in started}
        assert (now[talking["id"]]["state"], now[talking["id"]]["agent"]) == ("connected", "ann")
        for chat in (first, second):                             # waiting again, arrival and order kept
            assert now[chat["id"]]["state"] == "waiting"
            assert now[chat["id"]]["entered"] == before[chat["id"]]["entered"]
        assert [w["id"] for w in comm.waiting("chat")] == [first["id"], second["id"]]
        read = http.get(f"/chats/{talking['id']}/messages", headers=keys[talking["id"]]).json()
        assert [(m["from"], m["text"]) for m in read["messages"]] == [
            ("visitor", "hello 0"), ("agent", "hi, ann here"), ("visitor", "my bill")]
        assert read["state"] == "connected" and all("_key" not in m for m in read["messages"])
        assert http.get(f"/chats/{first['id']}/messages", headers=keys[second["id"]]).status_code == 404
        assert http.post(f"/chats/{talking['id']}/messages", json={"text": "still there?"},
                         headers=keys[talking["id"]]).status_code == 200
        assert [m["text"] for m in comm.messages(talking["id"], "webchat")][-1] == "still there?"
        assert http.post(f"/chats/{second['id']}/leave", headers=keys[second["id"]]).status_code == 200
        comm.complete("ann", talking["id"], "explained")
        assert comm.agent("ann")["interactions"] == [first["id"]]        # the next in line
    comm.flush()
    assert [e.data["kept"] for e in _logged(config, "restart")] == [0, 3]
    assert [e.interaction for e in _logged(config, "enter")] == [chat["id"] for chat in started]   # no second enter
    abandons = _logged(config, "abandon")
    assert [(e.interaction, e.data["reason"]) for e in abandons] == [(second["id"], "caller")]
    assert [e.data for e in _logged(config, "agent_status")][-1] == {"status": "available", "reason": "", "server": "comm"}
    assert "logged_out" not in [e.data["status"] for e in _logged(config, "agent_status")]


def test_a_second_crash_finds_what_the_first_restart_took_back(storage, caruso_host, caruso_client, tmp_path):
    config, port, host, comm = _chat_server(caruso_host, caruso_client, tmp_path)
    comm.set_status("ann", "break", "training")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        chat = http.post("/chats", json={"text": "hello"}).json()
        entered = comm.interaction(chat["id"])["entered"]
        _messages_stored(storage, 1)
        stored(storage, "CommAgent", "ann", status="break")
        for _ in range(2):                                           # restarted, and again
            host.stop()
            host = caruso_host("comm", config=config)
        assert (comm.interaction(chat["id"])["state"], comm.interaction(chat["id"])["entered"]) == ("waiting", entered)
        assert (comm.agent("ann")["status"], comm.agent("ann")["reason"]) == ("break", "training")
        read = http.get(f"/chats/{chat['id']}/messages", headers={"Authorization": f"Bearer {chat['key']}"})
        assert [m["text"] for m in read.json()["messages"]] == ["hello"]
    comm.flush()
    assert [e.data["kept"] for e in _logged(config, "restart")] == [0, 1, 1]
    assert len(_logged(config, "enter")) == 1


def test_an_email_waiting_at_a_restart_waits_again_with_its_message(storage, caruso_host, caruso_client, tmp_path):
    port = free_port()
    config = _config(tmp_path, queues=[{"name": "mail", "channel": "email"}],
                     channels={"email": {"queue": "mail", "address": "service@acme.test", "port": port}})
    host = caruso_host("comm", config=config)
    comm = caruso_client.get("caruso.comm/1")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "jo@example.org", "service@acme.test", "Meter"
    message.set_content("My meter shows 4711.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.send_message(message)
    waiting = eventually(lambda: comm.waiting("mail"))[0]
    _messages_stored(storage, 1)
    host.stop()
    caruso_host("comm", config=config)
    assert [(w["id"], w["entered"], w["from"]) for w in comm.waiting("mail")] == [
        (waiting["id"], waiting["entered"], "jo@example.org")]
    mail = comm.messages(waiting["id"], "email")
    assert (mail[0]["subject"], mail[0]["text"].strip()) == ("Meter", "My meter shows 4711.")


def test_what_no_channel_holds_ends_closed_with_reason_restart_and_counts_as_no_abandon(
        storage, caruso_host, caruso_client, tmp_path):
    config = _config(tmp_path, queues=[{"name": "chat", "channel": "webchat"}],
                     channels={"webchat": {"queue": "chat", "port": free_port()}})
    host = caruso_host("comm", config=config)
    comm = caruso_client.get("caruso.comm/1")
    comm.login("ann", {}, {"webchat": 1})
    talking = comm.arrive("chat", channel="webchat")["id"]        # no transcript: the channel cannot hold it
    comm.accept("ann", talking)
    waiting = comm.arrive("chat", channel="webchat")["id"]
    stored(storage, "CommAgent", "ann", state="busy")
    host.stop()
    caruso_host("comm", config=config)
    with pytest.raises(NotFound):
        comm.interaction(waiting)
    assert comm.agent("ann")["status"] == "available"            # still logged in, now free
    comm.flush()
    assert [(e.interaction, e.data["reason"]) for e in _logged(config, "abandon")] == [(waiting, "restart")]
    assert [(e.interaction, e.data["disposition"]) for e in _logged(config, "complete")] == [(talking, "restart")]
    assert stored(storage, "CommInteraction", waiting, state="closed")["ended"]
    assert stored(storage, "CommInteraction", talking, state="completed")["disposition"] == "restart"
    from caruso_comm.stats import Tally
    tally = Tally(20.0)
    for event in _logged(config, "enter", "connect", "abandon", "complete"):
        tally(event)
    assert (tally.results(0)["offered"], tally.results(0)["abandoned"]) == (2, 0)


def test_a_channel_that_never_says_what_it_holds_has_its_interactions_ended_after_reclaim_within(
        storage, caruso_host, caruso_client, tmp_path):
    # no telephony here: the voice channel never reports; 2 s, so that a loaded machine still
    # asks before the wait ends (with 0.5 s, CI's once did not)
    config = _config(tmp_path, queues=[{"name": "calls"}], channels={"voice": {"queue": "calls"}},
                     reclaim_within=2.0)
    host = caruso_host("comm", config=config)
    comm = caruso_client.get("caruso.comm/1")
    call = comm.arrive("calls", channel="voice")["id"]
    stored(storage, "CommInteraction", call, state="waiting")
    host.stop()
    caruso_host("comm", config=config)
    assert comm.interaction(call)["state"] == "waiting"          # taken back, for the channel to claim
    eventually(lambda: _gone(comm, call))
    comm.flush()
    assert [(e.interaction, e.data["reason"]) for e in _logged(config, "abandon")] == [(call, "restart")]


def test_a_hot_swap_before_the_channels_claimed_hands_the_wait_over(storage, caruso_host, caruso_client, tmp_path):
    config = _config(tmp_path, queues=[{"name": "calls"}], channels={"voice": {"queue": "calls"}},
                     reclaim_within=5.0)
    host = caruso_host("comm", config=config)
    comm = caruso_client.get("caruso.comm/1")
    call = comm.arrive("calls", channel="voice")["id"]
    stored(storage, "CommInteraction", call, state="waiting")
    host.stop()
    caruso_host("comm", config=config)                             # takes it back for the voice channel ...
    caruso_host("comm", config=config, replace=True)               # ... and hands it over unclaimed
    assert comm.interaction(call)["state"] == "waiting"
    eventually(lambda: _gone(comm, call))                          # the successor's wait ran out
    comm.flush()
    assert [(e.interaction, e.data["reason"]) for e in _logged(config, "abandon")] == [(call, "restart")]


def _gone(comm, interaction) -> bool:
    try:
        comm.interaction(interaction)
    except NotFound:
        return True
    return False


class _Telephony:
    """Stands in for the telephony component (its own tests drive real calls): the calls it
    holds, and the commands the channel gives."""

    def __init__(self, calls):
        self.held, self.commands = calls, []

    def calls(self):
        return self.held

    def __getattr__(self, command):
        def run(*arguments):
            self.commands.append((command, *arguments))
            return f"leg{len(self.commands)}" if command == "ring" else {"play": f"p{len(self.commands)}"}
        return run


class _Server:
    def __init__(self, going_on):
        self.going_on, self.reclaimed = going_on, []

    def reclaim(self, channel, held):
        self.reclaimed.append((channel, held))
        return [interaction for interaction in self.going_on if interaction["id"] in held]


def test_the_voice_channel_reports_the_calls_telephony_holds_and_follows_those_that_go_on():
    from caruso_core.context import HostContext
    calls = [{"call": "c-wait", "caller": "+4930111", "bridged": None,
              "legs": [{"leg": "l1", "state": "ringing"}]},
             {"call": "c-talk", "caller": "+4930222", "bridged": "l2",
              "legs": [{"leg": "l2", "state": "answered"}, {"leg": "l3", "state": "ringing"}]},
             {"call": "c-gone", "caller": "+4930333", "bridged": None, "legs": []}]
    server = _Server([{"id": "c-wait", "state": "offered", "customer": "K1", "agent": None, "queue": "calls",
                       "offers": ["bob"]},
                      {"id": "c-talk", "state": "connected", "customer": None, "agent": "ann", "queue": "calls",
                       "offers": []}])
    channel = VoiceChannel(server, HostContext.standalone("comm"), position_every=0)
    channel._telephony = telephony = _Telephony(calls)
    channel._adopt(None)
    assert server.reclaimed == [("voice", ["c-gone", "c-talk", "c-wait"])]
    assert ("hangup", "c-gone") in telephony.commands
    assert ("cancel_leg", "c-wait", "l1") in telephony.commands and ("cancel_leg", "c-talk", "l3") in telephony.commands
    assert ("play", "c-wait", {"tone": "hold"}, 1000) in telephony.commands       # hold audio again
    assert not [c for c in telephony.commands if c[1] == "c-talk" and c[0] in ("play", "hangup", "cancel_leg")
                and c[2:] != ("l3",)]
    assert (channel._calls["c-talk"].phase, channel._calls["c-talk"].legs) == ("agent", {"l2": "ann"})
    assert (channel._calls["c-wait"].phase, channel._calls["c-wait"].customer) == ("queue", "K1")
    assert ("ring", "c-wait", {"agent": "bob"}, "+4930111") in telephony.commands      # offered before it was followed
    assert list(channel._calls["c-wait"].legs.values()) == ["bob"]
    assert "c-gone" not in channel._calls


class _PollingTelephony(_Telephony):
    """Holds each read of events until ``answer`` is set, then returns an incoming call."""

    def __init__(self):
        super().__init__([])
        self.reading, self.answer = threading.Event(), threading.Event()

    def events(self, cursor, timeout, epoch):
        self.reading.set()
        self.answer.wait()
        return {"events": [{"event": "incoming", "call": "c-late", "caller": "+4930444", "to": "100"}],
                "next": 1, "epoch": "e", "missed": False}


def test_a_stopping_voice_channel_does_not_wait_out_a_read_of_events_and_acts_on_none_it_returns():
    from caruso_core.context import HostContext
    channel = VoiceChannel(_Server([]), HostContext.standalone("comm"), position_every=0)
    channel._telephony = telephony = _PollingTelephony()
    channel.start()
    assert telephony.reading.wait(10)
    stopped = threading.Thread(target=channel.stop)
    stopped.start()
    stopped.join(10)                       # the read in flight is held until after the stop
    assert not stopped.is_alive()
    telephony.answer.set()
    channel._reader.join(10)
    assert not channel._reader.is_alive()
    assert telephony.commands == [] and "c-late" not in channel._calls     # not answered, not followed
