"""Is this an SDP body a media relay can work with? (RFC 8866, the lines an offer or answer needs.)

Contract: :func:`problem` returns None for a readable session description with at least
one ``m=`` line, each media with a connection address (its own or the session's), a port
and numeric payload types, and otherwise one short sentence saying what is wrong. It
judges form only; what the relay can do with the codecs is rtpengine's answer.
"""
from __future__ import annotations

import re

from caruso_core.digits import digits

LINE = re.compile(r"^([a-z])=(.*)$")
MEDIA = re.compile(r"^(audio|video|text|application|message|image) ([0-9]{1,5})(?:/[0-9]+)? (\S+)((?: \S+)+)$")
CONNECTION = re.compile(r"^IN IP[46] \S+$")
ORIGIN_FIELDS = 6
MAX_LINES = 200


def problem(body: bytes) -> str | None:
    """None if ``body`` is a usable session description, else what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "SDP is not UTF-8"
    lines = [line for line in re.split(r"\r?\n", text) if line]
    if len(lines) > MAX_LINES:
        return f"SDP has more than {MAX_LINES} lines"
    if not lines or lines[0] != "v=0":
        return "SDP does not start with v=0"
    session_connection, media, media_connections = False, 0, []
    for line in lines:
        match = LINE.match(line)
        if match is None:
            return f"SDP line {line[:30]!r} is not type=value"
        kind, value = match.groups()
        if kind == "o" and len(value.split()) != ORIGIN_FIELDS:
            return "SDP origin (o=) needs six fields"
        if kind == "c":
            if not CONNECTION.match(value):
                return f"SDP connection {value[:30]!r} is not 'IN IP4|IP6 address'"
            if media:
                media_connections[-1] = True
            else:
                session_connection = True
        if kind == "m":
            found = MEDIA.match(value)
            if found is None or int(found.group(2)) > 65535:
                return f"SDP media {value[:40]!r} is not 'type port proto formats'"
            if found.group(3).startswith("RTP") or "/RTP/" in found.group(3):
                if not all(digits(fmt) and int(fmt) < 128 for fmt in found.group(4).split()):
                    return "SDP RTP payload types must be numbers below 128"
            media += 1
            media_connections.append(False)
    if not media:
        return "SDP has no media (m=) line"
    if not session_connection and not all(media_connections):
        return "SDP media without a connection (c=) line"
    return None


DIRECTIONS = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
DIRECTION = re.compile(r"^a=(sendrecv|sendonly|recvonly|inactive)\r?$", re.M)


def answering(offer: str, answer: str) -> str:
    """``answer`` with the direction that answers ``offer``'s (RFC 3264 section 6.1: sendonly
    is answered recvonly, recvonly sendonly, inactive inactive), for an answer made
    without its author seeing the offer (a placeholder, or a leg's earlier answer)."""
    found = DIRECTION.findall(offer)
    wanted = DIRECTIONS[found[-1]] if found else "sendrecv"
    lines = [line for line in re.split(r"\r?\n", answer) if line and not DIRECTION.match(line)]
    return "\r\n".join(lines + [f"a={wanted}"]) + "\r\n"
