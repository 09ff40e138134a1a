"""Calls from the trunk to the telephony service: the IVR's part (answer, prompts, DTMF), what
is refused, what ends a call without a BYE, and what a caller may change on the way."""
from __future__ import annotations

import pytest

from caruso_core.errors import Conflict, NotFound
from sip_peers import Sipp
from telephony_hosts import Telephony, host_telephony


@pytest.fixture(scope="module")
def telephony(caruso_cluster) -> Telephony:
    return host_telephony(caruso_cluster, caruso_cluster.client, max_calls=3)


def test_a_call_to_a_number_is_incoming_then_answered_spoken_to_and_its_keys_reported(telephony, tmp_path):
    events = telephony.reader()
    caller = Sipp("caller_dtmf.xml", tmp_path, telephony.target, service="100", duration=1500).start()
    incoming = events.next("incoming")
    assert incoming["to"] == "100" and incoming["caller"] == "+33600001" and incoming["caller_name"] == "Caller 1"
    call = incoming["call"]
    telephony.service.answer(call)
    played = telephony.service.play(call, {"text": "Welcome to caruso."})
    assert 0.5 < played["seconds"] < 5
    assert events.next("played", call, play=played["play"])["stopped"] is False
    assert [events.next("dtmf", call)["digit"] for _ in range(3)] == ["1", "2", "#"]
    assert events.next("ended", call)["by"] == "caller"
    assert caller.wait() == 0, caller.log()
    with pytest.raises(NotFound):
        telephony.service.answer(call)


def test_an_unknown_number_gets_404(telephony, tmp_path):
    caller = Sipp("caller_refused.xml", tmp_path, telephony.target, service="999")
    assert caller.run() == 0, caller.log()
    assert caller.statuses()[-1] == 404


def test_a_caller_who_cancels_before_the_ivr_answers_ends_the_call(telephony, tmp_path):
    events = telephony.reader()
    caller = Sipp("caller_cancel.xml", tmp_path, telephony.target, service="100", duration=500).start()
    call = events.next("incoming")["call"]
    assert events.next("ended", call)["by"] == "caller"
    assert caller.wait() == 0, caller.log()
    assert 487 in caller.statuses()
    with pytest.raises(NotFound):
        telephony.service.answer(call)


def test_an_answered_call_cannot_be_answered_again(telephony, tmp_path):
    events = telephony.reader()
    caller = Sipp("caller_talks.xml", tmp_path, telephony.target, service="100", duration=1000).start()
    call = events.next("incoming")["call"]
    telephony.service.answer(call)
    with pytest.raises(Conflict):
        telephony.service.answer(call)
    events.next("ended", call)
    assert caller.wait() == 0, caller.log()


def answered_call(telephony: Telephony, folder, scenario: str, **options) -> dict:
    """Call 100 with ``scenario``, answer, and wait for both ends; the ``ended`` event."""
    events = telephony.reader()
    caller = Sipp(scenario, folder, telephony.target, service="100", **options).start()
    call = events.next("incoming")["call"]
    telephony.service.answer(call)
    ended = events.next("ended", call)
    assert caller.wait() == 0, caller.log()
    return ended


def test_a_re_invite_putting_the_caller_on_hold_is_answered_through_the_media_relay(telephony, tmp_path):
    answered_call(telephony, tmp_path, "caller_reinvite.xml", duration=500)   # it checks a=recvonly


def test_a_call_whose_bye_is_lost_ends_by_the_rtp_timeout(telephony, tmp_path):
    assert answered_call(telephony, tmp_path, "caller_silent.xml")["by"] == "media_timeout"   # it got a BYE


def test_session_timers_are_agreed_and_refreshed(telephony, tmp_path):
    answered_call(telephony, tmp_path, "caller_session_timer.xml", duration=500)   # it checks the fields


def test_a_too_brief_session_timer_gets_422(telephony, tmp_path):
    caller = Sipp("caller_refused_timer.xml", tmp_path, telephony.target, service="100")
    assert caller.run() == 0, caller.log()


def test_beyond_max_calls_a_new_invite_gets_503_with_retry_after(telephony, tmp_path):
    events = telephony.reader()
    held = [Sipp("caller_hung_up.xml", tmp_path, telephony.target, service="100").start() for _ in range(3)]
    calls = [events.next("incoming")["call"] for _ in held]
    for call in calls:
        telephony.service.answer(call)
    refused = Sipp("caller_refused.xml", tmp_path, telephony.target, service="100")
    assert refused.run() == 0, refused.log()
    assert refused.statuses()[-1] == 503
    assert "Retry-After:" in refused.received()[-1]
    for call in calls:
        telephony.service.hangup(call)
        assert events.next("ended", call)["by"] == "application"
    for caller in held:
        assert caller.wait() == 0, caller.log()
