"""Real calls end to end: SIPp callers keying RFC 4733 digits through the IVR of the hosted
communication server (its voice channel), the ACD's queues and SIPp agent phones registered
with the telephony service; the reports count what SIPp counted."""
from __future__ import annotations

import csv
import io
import re
import threading
import wave
from collections import Counter

import pytest

from caruso_comm.channels.voice import VoiceChannel
from caruso_core.testing import eventually
from caruso_core.testing.commands import caruso
from baresip_phone import Baresip
from sip_peers import SIPP_TIMEOUT, Sipp, free_port
from voice_centre import MENU, bridges_late, sign_in, start_centre

WELCOME_MS = 1500
G711_SAMPLE_SECONDS = 7.05       # the audio of sip-tester's g711a.pcap, which callers speak


@pytest.fixture
def centre(caruso_host, caruso_client, tmp_path):
    return start_centre(caruso_host, caruso_client, tmp_path)


def incoming_calls(url: str) -> dict[str, int]:
    done = caruso("report", "incoming-calls", "--db", url, "--period", "day", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    counts = {name: sum(int(row[name]) for row in rows) for name in ("answered", "abandoned")}
    done = caruso("report", "voicemail", "--db", url, "--format", "csv")
    assert done.returncode == 0, done.stderr
    return {**counts, "messages": sum(int(row["messages"]) for row in csv.DictReader(io.StringIO(done.stdout)))}


def test_answered_abandoned_and_voicemail_calls_in_the_report_equal_sipps_counts(centre, tmp_path):
    telephony, comm, config = centre
    answering = Sipp("phone_hangs_up.xml", tmp_path, calls=4, duration=1500).start()
    sign_in(telephony, comm, tmp_path, 2, answering.port)
    callers = {
        "answered": Sipp("caller_queued.xml", tmp_path, telephony.target, service="100", calls=4, rate=2,
                         duration=WELCOME_MS),
        "abandoned": Sipp("caller_abandons.xml", tmp_path, telephony.target, service="100", calls=2, rate=2,
                          duration=WELCOME_MS),
        "voicemail": Sipp("caller_leaves_message.xml", tmp_path, telephony.target, service="100", calls=2,
                          rate=2, duration=WELCOME_MS),
    }
    for caller in callers.values():
        caller.start()
    for caller in (*callers.values(), answering):
        assert caller.wait() == 0, caller.log()
    counted = {name: caller.counts() for name, caller in callers.items()}
    assert all(count["failed"] == 0 for count in counted.values()), counted
    assert answering.counts() == {"successful": counted["answered"]["successful"], "failed": 0}
    expected = {"answered": counted["answered"]["successful"], "abandoned": counted["abandoned"]["successful"],
                "messages": counted["voicemail"]["successful"]}
    eventually(lambda: incoming_calls(config["db"]), lambda report: report == expected, what=f"the report saying {expected}")
    messages = comm.voicemails("general")
    assert len(messages) == counted["voicemail"]["successful"]
    for message in messages:
        with wave.open(io.BytesIO(message["content"])) as audio:
            assert audio.getnframes() / audio.getframerate() > 1.0    # the caller spoke into it
    assert telephony.service.calls() == []


def test_an_agent_who_hangs_up_before_the_bridge_ends_the_call_which_counts_as_answered(centre, tmp_path,
                                                                                        monkeypatch):
    """The phone answers and hangs up before the communication server (in this process) has
    bridged its leg, which it is made to do only once the phone is done: the caller hears the
    end, not hold audio for ever."""
    telephony, comm, config = centre
    phone_done = bridges_late(monkeypatch)
    answering = Sipp("phone_hangs_up.xml", tmp_path, duration=0).start()
    sign_in(telephony, comm, tmp_path, 1, answering.port)
    caller = Sipp("caller_queued.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS).start()
    assert answering.wait() == 0, answering.log()                          # its BYE was answered
    phone_done.set()
    assert caller.wait() == 0, caller.log()                                  # the caller got a BYE
    eventually(lambda: incoming_calls(config["db"]), lambda report: report == {"answered": 1, "abandoned": 0, "messages": 0},
               what="the report counting one answered call")
    assert comm.agent("agent-1")["interactions"] == []
    assert telephony.service.calls() == []


def test_a_call_whose_handling_waits_holds_up_no_other_call(centre, tmp_path, monkeypatch):
    """The communication server (in this process) is made to wait, on the first call an
    agent answers, until the test lets it go on: meanwhile a second caller goes through the
    IVR and the queue to the other agent, and is bridged."""
    telephony, comm, _ = centre
    waiting, release = threading.Event(), threading.Event()
    bridging = VoiceChannel._on_leg_answered

    def first_waits(channel, *args):
        if not waiting.is_set():
            waiting.set()
            release.wait(SIPP_TIMEOUT)
        bridging(channel, *args)
    monkeypatch.setattr(VoiceChannel, "_on_leg_answered", first_waits)
    answering = Sipp("phone_answers.xml", tmp_path, calls=2, port=free_port())
    sign_in(telephony, comm, tmp_path, 2, answering.port)
    answering.start()

    def caller() -> Sipp:
        return Sipp("caller_connects.xml", tmp_path, telephony.target, service="100", duration=15000).start()

    def bridged() -> int:
        return sum(call["bridged"] is not None for call in telephony.service.calls())
    try:
        first = caller()
        assert waiting.wait(SIPP_TIMEOUT), "the first call was not answered"
        second = caller()
        eventually(bridged, lambda count: count == 1, what="the second call bridged while the first waits")
    finally:
        release.set()
    eventually(bridged, lambda count: count == 2, what="both calls bridged")
    assert first.wait() == 0 and second.wait() == 0 and answering.wait() == 0, first.log() + second.log()
    assert telephony.service.calls() == []


def test_a_hot_swap_of_the_communication_server_drops_none_of_50_connected_calls(caruso_host, caruso_client, tmp_path):
    # a caller whose key the load lost still reaches an agent: after 3 s of silence, twice
    telephony, comm, config = start_centre(caruso_host, caruso_client, tmp_path, dict(MENU, default="power"),
                                           {"no_input": 3})
    agents = Sipp("phone_answers.xml", tmp_path, calls=50, limit=120,     # 50 calls of 40 s and a swap, under load
                  port=free_port())         # registered before SIPp starts: a port it cannot change
    sign_in(telephony, comm, tmp_path, 50, agents.port)
    agents.start()                        # after the registrations: SIPp's time limit counts from its start
    callers = Sipp("caller_connects.xml", tmp_path, telephony.target, service="100", calls=50, rate=10,
                   duration=40000, limit=120).start()

    def bridged() -> int:
        return sum(call["bridged"] is not None for call in telephony.service.calls())

    def completed() -> int:
        return sum(event["event"] == "complete" for event in comm.events(0, 0)["events"])

    try:
        eventually(bridged, lambda count: count == 50, limit=35, what="50 calls bridged to agents")
    except AssertionError as failure:
        waiting = {call["call"]: call for call in telephony.service.calls() if call["bridged"] is None}
        told = [event for event in comm.events(0, 0)["events"] if event["interaction"] in waiting]
        raise AssertionError(f"{failure}; not bridged: {list(waiting.values())!r:.2000}; "
                             f"comm's events of those: {told!r:.2000}; {invites(agents, 50)}") from None
    caruso_host("comm", config=config, replace=True)
    assert bridged() == 50
    assert callers.wait() == 0 and agents.wait() == 0, callers.log() + agents.log()
    assert callers.counts() == {"successful": 50, "failed": 0} and agents.counts() == callers.counts()
    eventually(completed, lambda count: count == 50, what="50 interactions completed after the swap")
    assert telephony.service.calls() == []


def invites(phones: Sipp, count: int) -> str:
    """What the SIPp of phones 1 to ``count`` has received so far: its INVITEs, the calls they
    belong to, the phones that got none and those that got more than one."""
    received = [message for message in phones.received() if message.startswith("INVITE ")]
    calls = {re.search(r"^Call-ID: *(\S+)", message, re.M | re.I).group(1) for message in received}
    by_phone = Counter(re.match(r"INVITE sip:([^@]+)@", message).group(1) for message in received)
    return (f"the phones' SIPp received {len(received)} INVITEs of {len(calls)} calls; none to "
            f"{[f'phone{n}' for n in range(1, count + 1) if not by_phone[f'phone{n}']]}, more than one to "
            f"{ {phone: n for phone, n in by_phone.items() if n > 1} }")


def test_a_baresip_phone_talks_both_ways_and_a_voicemail_is_as_long_as_the_message(centre, tmp_path):
    telephony, comm, _ = centre
    telephony.service.set_phone("agent-1", "phone1", "secret1")
    phone = Baresip(tmp_path, telephony.port, "phone1", "secret1").start()
    try:
        eventually(lambda: [entry for account in telephony.service.phones() for entry in account["contacts"]],
                   what=f"baresip registered; its log:\n{phone.log()}")
        comm.login("agent-1", {}, {"voice": 1})
        events = telephony.reader()
        caller = Sipp("caller_connects.xml", tmp_path, telephony.target, service="100", duration=8000).start()
        call = events.next("incoming")["call"]
        leg = events.next("leg_answered", call)["leg"]
        relayed = events.next("ended", call)["media"]
        assert caller.wait() == 0, caller.log()
    finally:
        phone.stop()
    # the caller's audio reached the phone, the phone's (rtpengine counts it on the streams it
    # first answered the caller with, the IVR's placeholder: nothing else sends there) the caller
    assert relayed["caller"]["sent_packets"] > 100 and relayed[leg]["received_packets"] > 100, relayed
    assert relayed["caller"]["received_packets"] > 100, relayed
    message = Sipp("caller_leaves_message.xml", tmp_path, telephony.target, service="100", duration=WELCOME_MS)
    assert message.run() == 0, message.log()
    (left,) = comm.voicemails("general")
    with wave.open(io.BytesIO(left["content"])) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert seconds == pytest.approx(G711_SAMPLE_SECONDS, rel=0.1)
