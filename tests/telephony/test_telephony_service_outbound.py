"""Calls through the trunk: outbound calls placed by ``dial`` (digest authentication to the
provider, every SIP outcome mapped to a result) and remote agents reached at a number."""
from __future__ import annotations

import pytest

from caruso_core.errors import InvalidInput
from sip_peers import Sipp, free_port, refusing
from telephony_hosts import Telephony, host_telephony


@pytest.fixture(scope="module")
def trunk_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def telephony(caruso_cluster, trunk_port) -> Telephony:
    return host_telephony(caruso_cluster, caruso_cluster.client,
                          trunk={"address": f"127.0.0.1:{trunk_port}", "username": "trunkuser", "password": "trunkpass",
                                 "caller_id": "4930123"})


def trunk(folder, port: int, scenario, **options) -> Sipp:
    return Sipp(scenario, folder, port=port, **options).start()


def test_a_dialled_call_authenticates_to_the_trunk_is_answered_and_spoken_to(telephony, trunk_port, tmp_path):
    events = telephony.reader()
    provider = trunk(tmp_path, trunk_port, "trunk_challenges.xml")
    call = telephony.service.dial("+4955512345")
    events.next("answered", call)
    telephony.service.play(call, {"tone": "beep"})
    events.next("played", call)
    telephony.service.hangup(call)
    assert events.next("ended", call)["by"] == "application"
    assert provider.wait() == 0, provider.log()
    invite = next(message for message in provider.received() if message.startswith("INVITE") and "Authorization" in message)
    assert "sip:+4955512345@127.0.0.1" in invite.splitlines()[0] and "4930123" in invite


@pytest.mark.parametrize("code, reason, result", [(486, "Busy Here", "busy"), (480, "Temporarily Unavailable", "no_answer"),
                                                  (408, "Request Timeout", "no_answer"), (404, "Not Found", "invalid"),
                                                  (503, "Service Unavailable", "failed"), (500, "Server Error", "failed")])
def test_each_sip_outcome_of_a_dialled_call_maps_to_a_result(telephony, trunk_port, tmp_path, code, reason, result):
    events = telephony.reader()
    provider = trunk(tmp_path, trunk_port, refusing(tmp_path, code, reason))
    call = telephony.service.dial("5551234")
    failed = events.next("failed", call)
    assert (failed["result"], failed["code"]) == (result, code)
    assert events.next("ended", call)["by"] == "caller"
    assert provider.wait() == 0, provider.log()


def test_a_dialled_call_nobody_answers_is_no_answer_after_its_ring_time(telephony, trunk_port, tmp_path):
    events = telephony.reader()
    provider = trunk(tmp_path, trunk_port, "phone_rings.xml")
    call = telephony.service.dial("5551234", ring_seconds=2)
    failed = events.next("failed", call)
    assert (failed["result"], failed["code"]) == ("no_answer", 487)
    assert provider.wait() == 0, provider.log()           # it was cancelled


def test_dial_refuses_bad_numbers_and_caller_ids(telephony):
    for number in ("", "12a", "+" + "1" * 40, None):
        with pytest.raises(InvalidInput):
            telephony.service.dial(number)
    with pytest.raises(InvalidInput):
        telephony.service.dial("5551234", caller_id="<script>")


def test_a_remote_agent_is_rung_at_a_number_through_the_trunk_and_bridged(telephony, trunk_port, tmp_path):
    events = telephony.reader()
    remote = trunk(tmp_path, trunk_port, "phone_answers.xml", rtp_echo=True)
    caller = Sipp("caller_talks.xml", tmp_path, telephony.target, service="200", duration=3000).start()
    call = events.next("incoming")["call"]
    telephony.service.answer(call)
    leg = telephony.service.ring(call, {"number": "+4917012345"})
    events.next("leg_answered", call, leg=leg)
    telephony.service.bridge(call, leg)
    media = events.next("ended", call)["media"]
    assert media["caller"]["sent_packets"] > 50 and media[leg]["sent_packets"] > 50
    assert caller.wait() == 0 and remote.wait() == 0, caller.log() + remote.log()
