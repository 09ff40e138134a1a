"""What may reach sippy: malformed, oversized and odd messages are answered 4xx or dropped
before sippy sees them; good ones pass, their transport parameters in lower case."""
from __future__ import annotations

import pytest

from caruso_telephony.sip import sdp
from caruso_telephony.sip.message import Limits, Malformed, parse, reply
from caruso_telephony.sip.screening import screen
from sip_peers import request, sdp as offer

TARGET = "sip:100@127.0.0.1:5060"


def judged(data: bytes):
    return screen(data, Limits())


def invite(**options) -> bytes:
    return request("INVITE", TARGET, port=5099, body=options.pop("body", offer(40000)), **options)


def test_a_good_invite_passes_with_its_transport_parameters_in_lower_case():
    verdict = judged(invite(headers={"Contact": "<sip:probe@127.0.0.1:5099;transport=UDP>"}))
    assert verdict.action == "pass"
    assert b";transport=udp>" in verdict.data and b"UDP>" not in verdict.data


@pytest.mark.parametrize("missing", ["Via", "From", "To", "Call-ID", "CSeq"])
def test_a_request_without_a_mandatory_field_gets_400_or_is_dropped(missing):
    verdict = judged(invite(headers={missing: None}))
    assert verdict.action == ("drop" if missing == "Via" else "answer")
    if verdict.action == "answer":
        assert verdict.message.status == 400


def test_the_400_copies_what_the_request_had_and_tags_its_to():
    verdict = judged(invite(headers={"Call-ID": None}))
    answer = parse(verdict.message.render())
    assert answer.status == 400 and answer.first("call-id") is None
    assert ";tag=" in answer.first("to") and answer.first("cseq") == "1 INVITE"
    assert "Call-ID" in answer.first("warning")


@pytest.mark.parametrize("cseq", ["x INVITE", "1 BYE", "1", "99999999999 INVITE", "\u00b2 INVITE", "\u0663 INVITE"])
def test_a_bad_cseq_gets_400(cseq):
    assert judged(invite(headers={"CSeq": cseq})).message.status == 400


@pytest.mark.parametrize("field", ["Max-Forwards", "Content-Length", "Expires"])
@pytest.mark.parametrize("number", ["\u00b2", "\u0663"])      # digits to str.isdigit(), not to a SIP peer
def test_a_number_in_other_digits_than_ascii_gets_400(field, number):
    verdict = judged(invite(length=number) if field == "Content-Length" else invite(headers={field: number}))
    assert verdict.action == "answer" and verdict.message.status == 400


def test_an_oversized_header_field_gets_400():
    verdict = judged(invite(headers={"X-Huge": "a" * 5000}))
    assert verdict.action == "answer" and verdict.message.status == 400


def test_too_many_header_fields_get_400():
    many = {f"X-Field-{n}": "x" for n in range(80)}
    assert judged(invite(headers=many)).message.status == 400


def test_an_oversized_message_gets_513():
    assert judged(invite(body=offer(40000) + "a=x-padding:" + "p" * 20000 + "\r\n")).message.status == 513


@pytest.mark.parametrize("length", [500, 10])
def test_a_content_length_beyond_the_body_gets_400_and_one_short_of_it_cuts_the_body(length):
    body = offer(40000)
    verdict = judged(invite(body=body, length=length))
    if length > len(body):
        assert verdict.message.status == 400
    else:
        assert verdict.action == "answer"       # the cut SDP is no SDP any more


@pytest.mark.parametrize("body", ["v=0\r\nxyz\r\n", "hello", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
                                  offer(40000).replace("m=audio 40000", "m=audio 99999"),
                                  offer(40000).replace("c=IN IP4 127.0.0.1\r\n", "")])
def test_an_invite_with_bad_sdp_gets_400(body):
    verdict = judged(invite(body=body))
    assert verdict.action == "answer" and verdict.message.status == 400


def test_an_invite_with_another_body_type_gets_415():
    verdict = judged(invite(headers={"Content-Type": "text/plain"}))
    assert verdict.message.status == 415 and verdict.message.first("accept") == "application/sdp"


@pytest.mark.parametrize("contact", ["<<<>>", "garbage", "<sip:>", "*"])
def test_an_invite_with_an_unreadable_contact_gets_400(contact):
    assert judged(invite(headers={"Contact": contact})).message.status == 400


def test_an_unsupported_uri_scheme_gets_416_and_a_zero_max_forwards_483():
    assert judged(request("OPTIONS", "http://x", port=5099)).message.status == 416
    assert judged(invite(headers={"Max-Forwards": "0"})).message.status == 483


def test_garbage_and_a_bad_ack_are_dropped_and_a_truncated_request_is_answered_if_its_via_is_whole():
    assert judged(b"HELLO THIS IS NOT SIP AT ALL, REALLY NOT\r\n\r\n").action == "drop"
    assert judged(invite()[:30]).action == "drop"
    assert judged(invite()[:100]).message.status == 400
    assert judged(request("ACK", TARGET, port=5099, headers={"CSeq": "x ACK"})).action == "drop"


def test_a_response_that_cannot_be_read_is_dropped():
    good = parse(invite())
    answer = reply(good, 200, "OK").render().replace(b"CSeq: 1 INVITE", b"CSeq: nonsense")
    assert judged(answer).action == "drop"
    assert judged(reply(good, 200, "OK").render()).action == "pass"


def test_non_utf8_gets_400():
    assert judged(invite(headers={"Subject": "caf\xe9"}).replace("caf\xe9".encode(), b"caf\xe9")).message.status == 400


def test_the_reader_bounds_hold_by_themselves():
    with pytest.raises(Malformed):
        parse(b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n")           # no blank line
    with pytest.raises(Malformed):
        parse(invite(), Limits(message_bytes=100))


def test_sdp_directions_are_answered_as_rfc_3264_says():
    assert sdp.answering("a=sendonly\r\n", "v=0\r\na=sendrecv\r\n").endswith("a=recvonly\r\n")
    assert sdp.answering("a=inactive\r\n", "v=0\r\na=sendrecv\r\n").endswith("a=inactive\r\n")
    assert sdp.answering("v=0\r\n", "v=0\r\na=recvonly\r\n").endswith("a=sendrecv\r\n")
