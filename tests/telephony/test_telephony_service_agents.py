"""Agents' phones: the registrar (digest, expiry, several contacts, brute force, replays) and
legs (ring, answer, bridge, hang up on either side, decline, no answer, cancel, transfer)."""
from __future__ import annotations

import hashlib
import re
import secrets

import pytest

from caruso_core.errors import Conflict, NotFound
from caruso_core.testing import eventually
from sip_peers import Sipp, UdpProbe, refusing, request, status
from telephony_hosts import Telephony, host_telephony

REALM = "caruso"


@pytest.fixture(scope="module")
def telephony(caruso_cluster) -> Telephony:
    hosted = host_telephony(caruso_cluster, caruso_cluster.client, ring_limit=3,
                            registration={"min_expires": 2, "failures": 5, "window": 60})
    for number in range(1, 6):
        hosted.service.set_phone(f"agent-{number}", f"phone{number}", f"secret{number}")
    return hosted


def register(telephony: Telephony, folder, user: str, password: str, contact_port: int, expires: int = 60) -> Sipp:
    phone = Sipp("phone_register.xml", folder, telephony.target, auth=(user, password),
                 keys={"user": user, "contact_port": contact_port, "expires": expires})
    assert phone.run() == 0, phone.log()
    return phone


def contacts(telephony: Telephony, agent: str) -> list[str]:
    return [entry["contact"] for phone in telephony.service.phones() if phone["agent"] == agent
            for entry in phone["contacts"]]


def waiting_call(telephony: Telephony, folder, events, scenario: str = "caller_hung_up.xml", **options) -> tuple[Sipp, str]:
    """A caller of 100, answered and hearing hold audio; its SIPp and call id."""
    caller = Sipp(scenario, folder, telephony.target, service="100", **options).start()
    call = events.next("incoming")["call"]
    telephony.service.answer(call)
    telephony.service.hold(call)
    return caller, call


def phone(folder, scenario: str, **options) -> Sipp:
    return Sipp(scenario, folder, **options).start()


# -- the registrar: attacks first ---------------------------------------------------------------

def digest_register(probe: UdpProbe, telephony: Telephony, user: str, password: str, *, contact_port: int,
                    expires: int = 60) -> tuple[list[str], bytes]:
    """A REGISTER answered with its digest by hand; the responses and the authenticated request."""
    uri = f"sip:127.0.0.1:{telephony.port}"
    fields = {"From": f"<sip:{user}@127.0.0.1>;tag={secrets.token_hex(4)}", "To": f"<sip:{user}@127.0.0.1>",
              "Contact": f"<sip:{user}@127.0.0.1:{contact_port}>", "Expires": str(expires)}
    call_id = f"{secrets.token_hex(6)}@probe"
    probe.send(request("REGISTER", uri, port=probe.port, call_id=call_id, headers=fields), ("127.0.0.1", telephony.port))
    challenge = probe.responses(2.0, until=400)[-1]
    if status(challenge) != 401:
        return [challenge], b""
    nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
    ha1 = hashlib.md5(f"{user}:{REALM}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
    cnonce = secrets.token_hex(4)
    response = hashlib.md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
    fields["Authorization"] = (f'Digest username="{user}",realm="{REALM}",nonce="{nonce}",uri="{uri}",'
                               f'response="{response}",algorithm=MD5,qop=auth,nc=00000001,cnonce="{cnonce}"')
    fields["CSeq"] = "2 REGISTER"
    authenticated = request("REGISTER", uri, port=probe.port, call_id=call_id, headers=fields)
    probe.send(authenticated, ("127.0.0.1", telephony.port))
    return [challenge, *probe.responses(2.0, until=200)], authenticated


def test_a_wrong_password_gets_403(telephony, tmp_path):
    phone = Sipp("phone_register.xml", tmp_path, telephony.target, auth=("phone1", "wrong"),
                 keys={"user": "phone1", "contact_port": 5999, "expires": 60})
    assert phone.run() == 0, phone.log()
    assert phone.statuses() == [401, 403]
    assert contacts(telephony, "agent-1") == []


def test_a_registration_for_an_unknown_user_or_for_someone_else_gets_403(telephony):
    probe = UdpProbe()
    answers, _ = digest_register(probe, telephony, "stranger", "secret", contact_port=5995)
    assert [status(answer) for answer in answers] == [401, 403]
    probe.send(request("REGISTER", f"sip:127.0.0.1:{telephony.port}", port=probe.port,
                       headers={"From": "<sip:phone1@127.0.0.1>;tag=1", "To": "<sip:phone2@127.0.0.1>"}),
               ("127.0.0.1", telephony.port))
    assert status(probe.responses(2.0, until=400)[-1]) == 403
    probe.close()


def test_brute_force_from_one_address_is_throttled_and_others_are_not(telephony):
    attacker = UdpProbe("127.0.0.2")
    for attempt in range(5):
        answers, _ = digest_register(attacker, telephony, "phone2", f"guess{attempt}", contact_port=5998)
        assert status(answers[-1]) == 403
    answers, _ = digest_register(attacker, telephony, "phone2", "secret2", contact_port=5998)
    assert status(answers[-1]) == 403 and "Retry-After:" in answers[-1]
    attacker.close()
    honest = UdpProbe("127.0.0.1")
    answers, _ = digest_register(honest, telephony, "phone2", "secret2", contact_port=5998)
    honest.close()
    assert status(answers[-1]) == 200


def test_a_replayed_registration_is_refused(telephony):
    probe = UdpProbe()
    answers, authenticated = digest_register(probe, telephony, "phone3", "secret3", contact_port=5997, expires=0)
    assert status(answers[-1]) == 200
    replay = authenticated.replace(b"branch=z9hG4bK", b"branch=z9hG4bKreplay")
    probe.send(replay, ("127.0.0.1", telephony.port))
    assert status(probe.responses(2.0, until=200)[-1]) == 403
    probe.close()


def test_registration_with_digest_expires_and_is_removed_by_expires_0(telephony, tmp_path):
    register(telephony, tmp_path, "phone4", "secret4", 5996, expires=2)
    assert contacts(telephony, "agent-4") == ["sip:phone4@127.0.0.1:5996;transport=udp"]
    eventually(lambda: contacts(telephony, "agent-4") == [], limit=10, what="the contact expired")
    register(telephony, tmp_path, "phone4", "secret4", 5996, expires=60)
    assert len(contacts(telephony, "agent-4")) == 1
    register(telephony, tmp_path, "phone4", "secret4", 5996, expires=0)
    assert contacts(telephony, "agent-4") == []


def test_phone_accounts_are_checked_and_their_passwords_never_shown(telephony):
    with pytest.raises(Conflict):
        telephony.service.set_phone("agent-9", "phone1", "x")
    with pytest.raises(NotFound):
        telephony.service.remove_phone("nobody")
    assert all(set(entry) == {"agent", "username", "contacts"} for entry in telephony.service.phones())


# -- legs ---------------------------------------------------------------------------------------

def test_an_agent_with_two_contacts_has_both_rung_and_the_caller_bridged_to_the_one_that_answers(telephony, tmp_path):
    events = telephony.reader()
    answering = phone(tmp_path, "phone_answers.xml", rtp_echo=True)
    ringing = phone(tmp_path, "phone_rings.xml")
    for contact in (answering, ringing):
        register(telephony, tmp_path, "phone5", "secret5", contact.port)
    caller, call = waiting_call(telephony, tmp_path, events, "caller_talks.xml", duration=3000)
    leg = telephony.service.ring(call, {"agent": "agent-5"})
    assert events.next("leg_ringing", call)["leg"] == leg
    assert events.next("leg_answered", call)["leg"] == leg
    telephony.service.bridge(call, leg)
    ended = events.next("ended", call)
    assert ended["by"] == "caller"
    media = ended["media"]
    assert media["caller"]["sent_packets"] > 50 and media[leg]["sent_packets"] > 50     # both ways
    for peer in (caller, answering, ringing):
        assert peer.wait() == 0, peer.log()     # the ringing phone got a CANCEL, the other a BYE


def test_an_agent_hanging_up_ends_the_call(telephony, tmp_path):
    events = telephony.reader()
    agent = phone(tmp_path, "phone_hangs_up.xml", duration=1000)
    telephony.service.set_phone("agent-6", "phone6", "secret6")
    register(telephony, tmp_path, "phone6", "secret6", agent.port)
    caller, call = waiting_call(telephony, tmp_path, events)
    leg = telephony.service.ring(call, {"agent": "agent-6"})
    events.next("leg_answered", call, leg=leg)
    telephony.service.bridge(call, leg)
    assert events.next("ended", call)["by"] == "agent"
    assert caller.wait() == 0 and agent.wait() == 0, caller.log() + agent.log()


@pytest.mark.parametrize("code, reason", [(486, "Busy Here"), (603, "Decline")])
def test_a_declined_leg_fails_with_its_code_and_the_caller_waits_on(telephony, tmp_path, code, reason):
    events = telephony.reader()
    agent = phone(tmp_path, refusing(tmp_path, code, reason))
    telephony.service.set_phone(f"agent-{code}", f"phone{code}", "secret")
    register(telephony, tmp_path, f"phone{code}", "secret", agent.port)
    caller, call = waiting_call(telephony, tmp_path, events)
    leg = telephony.service.ring(call, {"agent": f"agent-{code}"})
    failed = events.next("leg_failed", call, leg=leg)
    assert failed["code"] == code
    telephony.service.hangup(call)
    events.next("ended", call)
    assert caller.wait() == 0 and agent.wait() == 0


def test_an_agent_without_registration_fails_at_once_and_one_without_a_phone_is_not_found(telephony, tmp_path):
    events = telephony.reader()
    telephony.service.set_phone("agent-8", "phone8", "secret8")
    caller, call = waiting_call(telephony, tmp_path, events)
    leg = telephony.service.ring(call, {"agent": "agent-8"})
    assert events.next("leg_failed", call, leg=leg)["code"] == 480
    with pytest.raises(NotFound):
        telephony.service.ring(call, {"agent": "nobody"})
    telephony.service.hangup(call)
    assert caller.wait() == 0


def test_a_leg_nobody_answers_fails_after_the_ring_limit_and_a_cancelled_one_at_once(telephony, tmp_path):
    events = telephony.reader()
    first, second = phone(tmp_path, "phone_rings.xml"), phone(tmp_path, "phone_rings.xml")
    telephony.service.set_phone("agent-10", "phone10", "secret10")
    caller, call = waiting_call(telephony, tmp_path, events)
    register(telephony, tmp_path, "phone10", "secret10", first.port)
    leg = telephony.service.ring(call, {"agent": "agent-10"})
    events.next("leg_ringing", call, leg=leg)
    assert events.next("leg_failed", call, leg=leg)["code"] == 408
    assert first.wait() == 0                      # it was cancelled
    register(telephony, tmp_path, "phone10", "secret10", first.port, expires=0)
    register(telephony, tmp_path, "phone10", "secret10", second.port)
    leg = telephony.service.ring(call, {"agent": "agent-10"})
    events.next("leg_ringing", call, leg=leg)
    telephony.service.cancel_leg(call, leg)
    assert events.next("leg_failed", call, leg=leg)["code"] == 487
    assert second.wait() == 0
    telephony.service.hangup(call)
    assert caller.wait() == 0


def test_a_blind_transfer_holds_the_caller_and_bridges_another_agent(telephony, tmp_path):
    events = telephony.reader()
    first, second = phone(tmp_path, "phone_answers.xml"), phone(tmp_path, "phone_answers.xml")
    for number, agent in ((11, first), (12, second)):
        telephony.service.set_phone(f"agent-{number}", f"phone{number}", f"secret{number}")
        register(telephony, tmp_path, f"phone{number}", f"secret{number}", agent.port)
    caller, call = waiting_call(telephony, tmp_path, events)
    leg = telephony.service.ring(call, {"agent": "agent-11"})
    events.next("leg_answered", call, leg=leg)
    telephony.service.bridge(call, leg)
    telephony.service.hold(call)
    assert events.next("leg_ended", call, leg=leg)["by"] == "application"
    assert first.wait() == 0                      # it got a BYE
    other = telephony.service.ring(call, {"agent": "agent-12"})
    events.next("leg_answered", call, leg=other)
    telephony.service.bridge(call, other)
    with pytest.raises(Conflict):
        telephony.service.ring(call, {"agent": "agent-11"})
    telephony.service.hangup(call)
    assert events.next("ended", call)["by"] == "application"
    assert caller.wait() == 0 and second.wait() == 0


def test_a_bridged_leg_is_held_and_taken_back_and_the_call_stays_bridged(telephony, tmp_path):
    events = telephony.reader()
    answering = phone(tmp_path, "phone_answers.xml")
    telephony.service.set_phone("agent-13", "phone13", "secret13")
    register(telephony, tmp_path, "phone13", "secret13", answering.port)
    caller, call = waiting_call(telephony, tmp_path, events)
    leg = telephony.service.ring(call, {"agent": "agent-13"})
    with pytest.raises(Conflict, match="not bridged"):
        telephony.service.hold_leg(call, leg, True)              # still ringing
    for bad_call, bad_leg in (("no-such-call", leg), (call, "no-such-leg"), (call, 7), (call, "l" * 100_000)):
        with pytest.raises(NotFound):
            telephony.service.hold_leg(bad_call, bad_leg, True)
    events.next("leg_answered", call, leg=leg)
    telephony.service.bridge(call, leg)

    def summary() -> dict:
        return next(held for held in telephony.service.calls() if held["call"] == call)

    telephony.service.hold_leg(call, leg, True)
    assert (summary()["holding"], summary()["bridged"]) == (True, leg)
    telephony.service.hold_leg(call, leg, True)                  # again: no change
    telephony.service.hold_leg(call, leg, False)
    assert (summary()["holding"], summary()["bridged"]) == (False, leg)
    telephony.service.hangup(call)
    assert events.next("ended", call)["by"] == "application"
    assert caller.wait() == 0 and answering.wait() == 0
