"""The communication server as a hosted service, over Pyro5, on the real clock."""
from __future__ import annotations

import json
import smtplib
import time

import httpx
import pytest
import sqlalchemy as sa

from caruso_core.testing import contract_suite, eventually
from caruso_core.testing.commands import caruso
from caruso_core.testing.processes import free_port

QUEUES = [{"name": "sales", "offer_timeout": 1.0, "max_no_answer": 0},
          {"name": "support", "skills": {"support": 1},
           "escalation": [{"after": 0.5, "queues": ["sales"]}]}]


def _await_event(comm, since: int, wanted: str, interaction: str, limit: float = 30.0) -> int:
    """Long-poll the feed until ``wanted`` happens to ``interaction``; the feed position after it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        feed = comm.events(since, 2.0)
        for event in feed["events"]:
            if event["event"] == wanted and event["interaction"] == interaction:
                return event["seq"]
        since = feed["last"]
    raise AssertionError(f"no {wanted} for {interaction} within {limit} s")


@pytest.fixture
def comm(caruso_host, caruso_client, tmp_path):
    db = f"sqlite:///{tmp_path / 'comm.db'}"
    host = caruso_host("caruso_comm.service:CommServer", config={"queues": QUEUES, "db": db})
    yield caruso_client.get("caruso.comm/1"), host, db


class TestCommServer(contract_suite("caruso.comm/1")):
    @pytest.fixture
    def service(self, caruso_host, caruso_client, tmp_path):
        caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'contract.db'}"})
        return caruso_client.get("caruso.comm/1")


def test_the_event_log_has_every_event_after_a_stop(comm):
    server, host, db = comm
    server.login("ann", {"sales": 1}, {"voice": 1})
    call = server.arrive("sales")["id"]
    server.accept("ann", call)
    server.complete("ann", call, "sale")
    host.stop()
    with sa.create_engine(db).connect() as connection:
        logged = connection.execute(sa.text(
            "select event from comm_events where interaction = :i order by id"), {"i": call}).scalars().all()
    assert logged == ["enter", "offer", "connect", "complete"]


def test_timers_run_on_the_real_clock(comm):
    server, _, _ = comm
    server.login("bob", {}, {"voice": 1})
    first = server.arrive("sales")["id"]
    position = _await_event(server, 0, "no_answer", first)
    assert server.interaction(first)["state"] == "waiting"
    second = server.arrive("support")["id"]
    _await_event(server, position, "escalate", second)
    assert server.interaction(second)["offers"] == ["bob"]
    assert [e["event"] for e in server.events(position, 0)["events"] if e["interaction"] == second] == [
        "enter", "escalate", "offer"]


def test_cli_lists_agents_and_sets_status(comm):
    server, _, _ = comm
    added = caruso("comm", "queue-add", "french", "--strategy", "skills_based", "--skill", "french=3", "--overflow", "voicemail", "--max-wait", "60",
                   "--disposition", "sold", "--disposition", "call back")
    assert added.returncode == 0, added.stderr
    french = [q for q in server.queues() if q["name"] == "french"][0]
    assert (french["skills"], french["overflow"], french["max_wait"]) == ({"french": 3}, "voicemail", 60)
    assert list(french["dispositions"]) == ["sold", "call back"]
    refused = caruso("comm", "queue-add", "german", "--disposition", "x" * 41)
    assert refused.returncode != 0 and "dispositions must be distinct names of 1 to 40 characters" in refused.stderr
    assert "german" not in {q["name"] for q in server.queues()}
    refused = caruso("comm", "queue-add", "x", "--skill", "french")
    assert refused.returncode == 1 and refused.stderr.startswith("error: --skill 'french'")
    server.login("cid", {"support": 2}, {"voice": 1})
    server.set_status("cid", "break", "meeting")
    call = server.arrive("support")["id"]
    done = caruso("comm", "agents", "--json")
    assert done.returncode == 0, done.stderr
    assert [(a["id"], a["status"], a["reason"]) for a in json.loads(done.stdout)] == [("cid", "break", "meeting")]
    done = caruso("comm", "status", "cid", "available")
    assert done.returncode == 0, done.stderr
    assert server.agent("cid")["interactions"] == [call]
    done = caruso("comm", "queues")
    assert done.stdout.split("\n")[0].split() == ["name", "strategy", "channel", "waiting", "logged_in", "ready"]
    assert done.stdout.split("\n")[3].split() == ["support", "longest_idle", "voice", "0", "1", "0"]


def test_a_hot_swap_keeps_agents_calls_and_voicemail(comm, caruso_host):
    server, _, db = comm
    server.add_queue({"name": "swapped"})  # offers ring 20 s: the swap may take a while on a busy machine
    server.login("ann", {}, {"voice": 1})
    server.login("bob", {}, {"voice": 1})
    talking = server.arrive("swapped")["id"]
    server.accept(server.interaction(talking)["offers"][0], talking)
    holder = server.interaction(talking)["agent"]
    talked = server.interaction(talking)["connected_for"]
    ringing = server.arrive("swapped")["id"]
    assert 0 <= talked < 60 and "connected_for" not in server.interaction(ringing)
    waiting = server.arrive("swapped")["id"]
    message = server.leave_voicemail("support", b"\x00audio", caller="+4930333")
    last = server.events(0, 0)["last"]
    caruso_host("caruso_comm.service:CommServer", config={"queues": QUEUES, "db": db}, replace=True)
    assert server.interaction(talking)["state"] == "connected"
    assert server.interaction(talking)["connected_for"] > talked       # the call's time goes on across the swap
    assert server.interaction(ringing)["state"] == "offered"
    assert server.interaction(waiting)["position"] == 1
    stored = server.voicemails()[0]
    assert stored["content"] == b"\x00audio" and stored["id"] == message["id"]
    feed = server.events(last, 0)
    assert feed["events"] and all(e["seq"] > last for e in feed["events"])
    assert [e["event"] for e in feed["events"] if e["interaction"] == ringing] == ["withdraw", "offer"]
    server.complete(holder, talking, "done")
    assert server.interaction(waiting)["offers"] == [holder]


def test_hot_swaps_keep_the_web_chats_and_the_mail_on_their_ports(caruso_host, caruso_client, tmp_path):
    """The web chat and the SMTP server listen on fixed ports. A standby does not take their
    connections; the instance a swap makes active takes the ports over (the old one listens
    until the swap is done, then stops), also back: a customer writes on in the same chat,
    the agent has the whole transcript, a pass issued before a swap opens a chat after it,
    and mail sent at every step arrives."""
    port, smtp_port = free_port(), free_port()
    config = {"db": f"sqlite:///{tmp_path / 'comm.db'}",
              "queues": [{"name": "chat", "channel": "webchat"}, {"name": "mail", "channel": "email"}],
              "channels": {"webchat": {"queue": "chat", "port": port},
                           "email": {"queue": "mail", "address": "service@acme.test", "port": smtp_port}}}
    first = caruso_host("caruso_comm.service:CommServer", config=config)
    server = caruso_client.get("caruso.comm/1")
    server.login("ann", {}, {"webchat": 1})
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as web:
        started = web.post("/chats", json={"text": "My meter reads zero"}).json()
        chat, key = started["id"], {"Authorization": f"Bearer {started['key']}"}
        server.accept("ann", chat)
        server.send("ann", chat, "Let me look at it")
        written = ["My meter reads zero", "Let me look at it"]

        def write(step):               # new connections: each reaches whichever instance listens
            for n in range(8):
                answer = web.post(f"/chats/{chat}/messages", json={"text": f"{step} {n}"},
                                  headers={**key, "Connection": "close"})
                assert answer.status_code == 200, (step, answer.text)
                written.append(f"{step} {n}")
            assert [m["text"] for m in server.messages(chat, "webchat")] == written
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
                smtp.sendmail("jo@example.org", ["service@acme.test"], f"Subject: {step}\r\n\r\n{step}")
            mailed.append(step)
            assert [m["subject"] for i in server.waiting("mail") for m in server.messages(i["id"], "email")] == mailed

        mailed = []
        second = caruso_host("caruso_comm.service:CommServer", config=config, standby=True)
        write("beside a standby")
        presented = server.chat_pass("C-7", "Cora")["url"].split("#pass=", 1)[1]
        caruso_client.swap("comm", second.instance_id)
        write("after the swap")
        seen = web.get(f"/chats/{chat}/messages", headers=key).json()
        assert seen["state"] == "connected" and [m["from"] for m in seen["messages"]][:2] == ["visitor", "agent"]
        fresh = web.post("/chats", json={"text": "Hello", "pass": presented})
        assert fresh.status_code == 201 and server.interaction(fresh.json()["id"])["customer"] == "C-7"
        caruso_client.swap("comm", first.instance_id)
        write("back")
        assert server.channels()["webchat"]["url"] == f"http://127.0.0.1:{port}"


def test_a_campaign_runs_on_the_server_from_the_cli(comm, tmp_path):
    server, _, _ = comm
    calls = tmp_path / "spring.csv"
    calls.write_text("number,customer\n" + "".join(f"+4930{n:04d},c{n}\n" for n in range(12)))
    added = caruso("comm", "campaign-add", "spring", "--queue", "sales", "--list", str(calls), "--retry", "busy=2/0.1", "--dialer", "ring=0.05", "--dialer", "busy_after=0.05", "--dialer", "no_answer_after=0.1")
    assert added.stdout.strip() == "spring: draft, 12 contacts", added.stderr
    server.add_dnc(["+49 30 0003"])
    server.login("ann", {}, {"voice": 1})
    bad = caruso("comm", "campaign-add", "x", "--queue", "sales", "--list", str(calls), "--retry", "busy")
    assert bad.returncode == 1 and bad.stderr.startswith("error: --retry 'busy'")
    caruso("comm", "campaign", "spring", "start")
    deadline = time.monotonic() + 60
    while server.campaign("spring")["state"] != "finished":
        assert time.monotonic() < deadline, server.campaign("spring")
        for interaction in server.agent("ann")["interactions"]:
            state = server.interaction(interaction)["state"]
            if state == "offered":
                server.accept("ann", interaction)
            elif state == "connected":
                server.complete("ann", interaction, "sale")
        time.sleep(0.02)
    summary = server.campaign("spring")
    assert summary["contacts"] == {"done": 11, "dnc": 1} and summary["abandoned"] == 0
    dialed = [e["data"]["number"] for e in server.events(0, 0)["events"] if e["event"] == "dial"]
    assert "+49300003" not in dialed and len(set(dialed)) == 11
    listed = caruso("comm", "campaigns").stdout
    assert listed.split("\n")[1].split()[:4] == ["spring", "sales", "progressive", "finished"]


def test_the_cli_sets_a_campaign_s_accept_window_and_auto_accept_and_refuses_bad_ones(comm, tmp_path):
    server, _, _ = comm
    calls = tmp_path / "autumn.csv"
    calls.write_text("number,customer\n+49301234,c1\n")
    added = caruso("comm", "campaign-add", "autumn", "--queue", "sales", "--list", str(calls), "--pacing", "predictive",
                   "--connect-within", "7.5", "--auto-accept")
    assert added.returncode == 0, added.stderr
    assert (server.campaign("autumn")["connect_within"], server.campaign("autumn")["auto_accept"]) == (7.5, True)
    too_long = caruso("comm", "campaign-add", "x", "--queue", "sales", "--list", str(calls), "--connect-within", "500")
    assert (too_long.returncode, too_long.stderr) == (
        2, "error: Invalid value for '--connect-within': 500.0 is not in the range 0.5<=x<=120.0.\n")
    preview = caruso("comm", "campaign-add", "x", "--queue", "sales", "--list", str(calls), "--pacing", "preview",
                     "--auto-accept")
    assert preview.returncode == 1 and preview.stderr.startswith("error: campaign 'x': auto_accept connects answered")
    assert preview.stderr.count("\n") == 1 and [c["name"] for c in server.campaigns()] == ["autumn"]
    listed = caruso("comm", "campaigns").stdout.split("\n")
    assert listed[0].split()[-2:] == ["connect_within", "auto_accept"] and listed[1].split()[-2:] == ["7.5", "True"]


def test_a_deactivated_server_fires_no_timers_until_it_imports_state_again(tmp_path):
    from caruso_comm.service import CommServer

    server = CommServer(queues=[{"name": "q", "offer_timeout": 0.2}], db=f"sqlite:///{tmp_path / 'c.db'}")
    server.start()
    try:
        server.login("ann", {}, {"voice": 1})
        call = server.arrive("q")["id"]
        state = server.export_state()
        server.deactivate()                                # a swap moved the work away
        time.sleep(0.4)          # past the offer timeout (0.2 s): waiting to see that nothing fires
        assert server.interaction(call)["state"] == "offered"
        assert [e["event"] for e in server.events(0, 0)["events"] if e["interaction"] == call] == ["enter", "offer"]
        server.import_state(state)                         # rolled back: it runs the timers again
        eventually(lambda: server.interaction(call)["offers"], lambda offers: not offers, limit=10,
                   what="the offer's end")
        assert "no_answer" in [e["event"] for e in server.events(0, 0)["events"]]
    finally:
        server.stop()


def _restart_events(server) -> list[dict]:
    return [e["data"] for e in server.events(0, 0)["events"] if e["event"] == "restart"]


def test_a_first_cold_start_on_a_log_without_a_restart_event_closes_nothing(tmp_path):
    from caruso_comm.eventlog import EventLog
    from caruso_comm.service import CommServer

    db = f"sqlite:///{tmp_path / 'c.db'}"
    older = CommServer(queues=[{"name": "q"}], db=db)    # an older version: no cold start closing
    older.login("ann", {}, {"voice": 1})
    call = older.arrive("q")["id"]
    older.stop()
    server = CommServer(queues=[{"name": "q"}], db=db)
    server.cold_start()
    server.stop()
    assert _restart_events(server) == [{"closed": 0, "logged_out": 0, "kept": 0, "server": "comm"}]
    events = list(EventLog(db).read())
    assert [e.event for e in events if e.interaction == call] == ["enter", "offer"]


def test_a_cold_start_leaves_the_interactions_and_agents_that_came_before_it_to_the_acd(tmp_path):
    from caruso_comm.eventlog import EventLog
    from caruso_comm.service import CommServer

    db = f"sqlite:///{tmp_path / 'c.db'}"
    earlier = CommServer(queues=[{"name": "q"}], db=db)
    earlier.cold_start()
    earlier.stop()
    server = CommServer(queues=[{"name": "q"}], db=db)
    try:
        server.login("ann", {}, {"voice": 1})            # a channel's interaction before the cold start
        call = server.arrive("q", channel="webchat")["id"]
        server.cold_start()
        assert server.interaction(call)["offers"] == ["ann"] and server.agent("ann")["status"] == "available"
        assert [e["event"] for e in server.events(0, 0)["events"] if e["interaction"] == call] == ["enter", "offer"]
        restarts = _restart_events(server)
    finally:
        server.stop()
    entered = [e.id for e in EventLog(db).read() if e.event == "enter" and e.interaction == call]
    assert restarts == [{"closed": 0, "logged_out": 0, "kept": 0, "open_from": entered[0] - 1,
                        "server": "comm"}]   # read again next time
