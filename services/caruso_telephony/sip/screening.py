"""What may reach sippy: every message a transport receives is judged here first.

sippy drops a request it cannot parse silently (printing a traceback), and parses header
fields lazily, so a bad field would fail half-way through a dialog. Contract of
:func:`screen`: a message passes only if its start line, its header fields within
:class:`~caruso_telephony.sip.message.Limits`, Via, From, To, Call-ID, CSeq (matching the
method), Max-Forwards, Contact and Content-Length are readable by sippy itself and its
body, when a dialog's SDP, reads as SDP. A request that does not pass is answered with
a 4xx (400, 415, 416, 483; 513 for an oversized one) when it can be, at least its Via
readable, and dropped otherwise; an ACK and a response that do not pass are dropped.
A passing message comes back with ``transport`` URI parameters in lower case (sippy
compares them case-sensitively) and its body cut to its Content-Length.
"""
from __future__ import annotations

import re
from typing import Literal

import attrs
from sippy.SipRequest import SipRequest
from sippy.SipResponse import SipResponse

from caruso_core.digits import digits
from caruso_telephony.sip import sdp
from caruso_telephony.sip.message import Limits, Malformed, Message, canonical, parse, reply, salvage

SCHEMES = ("sip:", "sips:", "tel:")
MAX_CALL_ID = 256
SDP_METHODS = ("INVITE", "ACK", "UPDATE", "PRACK")
TRANSPORT_PARAMETER = re.compile(r";transport=([A-Za-z]+)")
VIA = re.compile(r"^SIP */ *2\.0 */ *(UDP|TCP|TLS|WS|WSS|SCTP) +\S+", re.IGNORECASE)
HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?|\[[0-9A-Fa-f:.]+\])$")
PARSED_FIELDS = ("via", "from", "to", "call-id", "cseq", "contact", "max-forwards", "expires", "route",
                 "record-route")


@attrs.frozen
class Verdict:
    """``action``: ``pass`` (``data`` for sippy, ``message`` read), ``answer`` (send
    ``message``, a response) or ``drop``; ``reason`` says why it did not pass."""

    action: Literal["pass", "answer", "drop"]
    message: Message | None = None
    data: bytes = b""
    reason: str = ""


def screen(data: bytes, limits: Limits) -> Verdict:
    """Judge one received message (see the module's contract)."""
    try:
        message = parse(data, limits)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("the message is not UTF-8") from None
        _check(message)
        text = TRANSPORT_PARAMETER.sub(lambda found: f";transport={found.group(1).lower()}",
                                       message.render().decode("utf-8"))
        _check_with_sippy(message, text)
    except Malformed as problem:
        return _refuse(data, limits, problem)
    return Verdict("pass", message, text.encode("utf-8"))


def _check(message: Message) -> None:
    for name in ("via", "from", "to", "call-id", "cseq"):
        if message.first(name) is None:
            raise Malformed(f"no {canonical(name)} header field")
    if not VIA.match(message.first("via") or ""):
        raise Malformed("the top Via is unreadable")
    if len(message.first("call-id") or "") > MAX_CALL_ID:
        raise Malformed(f"Call-ID longer than {MAX_CALL_ID}")
    cseq = message.cseq()
    if cseq is None:
        raise Malformed("unreadable CSeq")
    if not message.is_request:
        return
    if cseq[1] != message.method:
        raise Malformed(f"CSeq method {cseq[1]} is not the request's {message.method}")
    if not message.uri.lower().startswith(SCHEMES):
        raise Malformed(f"Request-URI scheme of {message.uri[:30]!r} is not supported", 416)
    forwards = message.first("max-forwards")
    if forwards is not None and (not digits(forwards) or len(forwards) > 3):
        raise Malformed("unreadable Max-Forwards")
    if forwards is not None and int(forwards) == 0 and message.method not in ("ACK", "CANCEL"):
        raise Malformed("Max-Forwards reached 0", 483)
    if message.method == "INVITE" and (message.first("contact") or "*").strip() == "*":
        raise Malformed("an INVITE needs a Contact")
    _check_body(message)


def _check_body(message: Message) -> None:
    if not message.body or message.method not in SDP_METHODS:
        return
    kind = (message.first("content-type") or "").split(";")[0].strip().lower()
    if kind != "application/sdp":
        raise Malformed(f"body of type {kind or 'unknown'} (only application/sdp)", 415)
    problem = sdp.problem(message.body)
    if problem is not None:
        raise Malformed(problem)


def _check_with_sippy(message: Message, text: str) -> None:
    try:
        parsed = SipRequest(text) if message.is_request else SipResponse(text)
        for name in PARSED_FIELDS:
            for body in parsed.getHFBodys(name):
                if name == "contact" and not body.asterisk:
                    _check_address(body.getUrl().getTAddr()[0], "Contact")
        _check_address(parsed.getHFBody("via").getAddr(), "Via")
        if message.is_request:
            parsed.getRURI()
    except Malformed:
        raise
    except Exception as error:      # whatever sippy raises on what it cannot read
        raise Malformed(f"unreadable header field ({type(error).__name__})") from None


def _check_address(address: tuple[str, int], field: str) -> None:
    host, port = address
    if not HOST.match(str(host)) or not 0 < int(port) < 65536:
        raise Malformed(f"{field} address {str(host)[:40]!r}:{port} is not a host and port")


def _refuse(data: bytes, limits: Limits, problem: Malformed) -> Verdict:
    request = salvage(data, limits)
    if request is None or request.method == "ACK" or not VIA.match(request.first("via") or ""):
        return Verdict("drop", reason=problem.reason)
    reasons = {400: "Bad Request", 415: "Unsupported Media Type", 416: "Unsupported URI Scheme",
               483: "Too Many Hops", 513: "Message Too Large"}
    extra = [("accept", "application/sdp")] if problem.status == 415 else []
    extra.append(("warning", f'399 caruso "{problem.reason[:120]}"'))
    return Verdict("answer", reply(request, problem.status, reasons[problem.status], extra), reason=problem.reason)
