"""One SIP message as the transports hand it over, read just enough to judge and route it.

Contract: :func:`parse` reads bytes into a :class:`Message` (start line, header fields in
order with canonical lower-case names, compact forms expanded, comma-separated Via
values split, body) within :class:`Limits`, or raises :class:`Malformed` carrying the
status a request deserves. It does not interpret header values beyond what framing,
screening and relaying need; sippy does the rest once screening let a message through.
:meth:`Message.render` writes a message back (canonical names; the body as it came) and
:func:`reply` makes a stateless response to a request from its own header fields, as
RFC 3261 section 8.2.6 says, even when the request lacks some of them.
"""
from __future__ import annotations

import re
import secrets

import attrs

from caruso_core.digits import digits

COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact", "l": "content-length",
           "c": "content-type", "k": "supported", "s": "subject", "x": "session-expires",
           "e": "content-encoding", "o": "event", "u": "allow-events", "r": "refer-to", "b": "referred-by"}
CANONICAL = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate", "min-se": "Min-SE"}
TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
STATUS_LINE = re.compile(r"^SIP/2\.0 ([1-9][0-9]{2}) ?(.*)$")
REQUEST_LINE = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP/2\.0$")


@attrs.frozen
class Limits:
    """``message_bytes``: a whole message; ``header_bytes``: one header field (continuation
    lines joined); ``headers``: header fields in a message (each Via value counts)."""

    message_bytes: int = 16384
    header_bytes: int = 2048
    headers: int = 64


class Malformed(Exception):
    """A message that cannot be read; ``status`` is what a request gets (400 unless said)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def canonical(name: str) -> str:
    """The usual spelling of a lower-case header name (``call-id`` -> ``Call-ID``)."""
    return CANONICAL.get(name) or "-".join(part.capitalize() for part in name.split("-"))


@attrs.define
class Message:
    """``start``: the start line; ``headers``: ``(name, value)`` pairs, names lower-case and
    long-form; ``body``: the bytes after the blank line (as many as Content-Length says, when
    it says fewer)."""

    start: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def is_request(self) -> bool:
        return not self.start.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        """The request's method (upper case as sent); '' for a response."""
        match = REQUEST_LINE.match(self.start)
        return match.group(1) if match else ""

    @property
    def uri(self) -> str:
        match = REQUEST_LINE.match(self.start)
        return match.group(2) if match else ""

    @property
    def status(self) -> int:
        match = STATUS_LINE.match(self.start)
        return int(match.group(1)) if match else 0

    def first(self, name: str) -> str | None:
        for header, value in self.headers:
            if header == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for header, value in self.headers if header == name]

    def count(self, name: str) -> int:
        return sum(1 for header, _ in self.headers if header == name)

    def cseq(self) -> tuple[int, str] | None:
        """``(number, method)`` of the CSeq field, None if it is missing or unreadable."""
        parts = (self.first("cseq") or "").split()
        if len(parts) != 2 or not digits(parts[0]) or len(parts[0]) > 10 or not TOKEN.match(parts[1]):
            return None
        return int(parts[0]), parts[1]

    def render(self) -> bytes:
        lines = [self.start] + [f"{canonical(name)}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


def split_values(value: str) -> list[str]:
    """The comma-separated values of a header field, commas in quotes and <> kept."""
    values, current, quoted, bracket = [], [], False, False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            bracket = True
        elif char == ">" and not quoted:
            bracket = False
        if char == "," and not quoted and not bracket:
            values.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    values.append("".join(current).strip())
    return [value for value in values if value]


def header_block(data: bytes) -> int:
    """The offset of the body (after the first blank line), or -1 when the header is not complete."""
    end = data.find(b"\r\n\r\n")
    return -1 if end < 0 else end + 4


def parse(data: bytes, limits: Limits = Limits()) -> Message:
    """Read one message (see the module's contract)."""
    if len(data) > limits.message_bytes:
        raise Malformed(f"message of {len(data)} bytes exceeds {limits.message_bytes}", 513)
    body_at = header_block(data)
    if body_at < 0:
        raise Malformed("no blank line ends the header")
    text = data[:body_at - 4].decode("latin-1")
    lines = text.split("\r\n")
    start, fields = lines[0], []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += " " + line.strip()
        else:
            fields.append(line)
    headers: list[tuple[str, str]] = []
    for field in fields:
        if len(field) > limits.header_bytes:
            raise Malformed(f"a header field of {len(field)} bytes exceeds {limits.header_bytes}")
        name, colon, value = field.partition(":")
        name = name.strip().lower()
        if not colon or not TOKEN.match(name):
            raise Malformed(f"unreadable header field line {field[:40]!r}")
        name = COMPACT.get(name, name)
        for item in (split_values(value) if name == "via" else [value.strip()]):
            headers.append((name, item))
        if len(headers) > limits.headers:
            raise Malformed(f"more than {limits.headers} header fields")
    message = Message(start, headers, data[body_at:])
    if not (STATUS_LINE.match(start) or REQUEST_LINE.match(start)):
        raise Malformed(f"unreadable start line {start[:60]!r}")
    _check_length(message)
    return message


def _check_length(message: Message) -> None:
    lengths = message.all("content-length")
    if len(lengths) > 1:
        raise Malformed("several Content-Length fields")
    if not lengths:
        return
    if not digits(lengths[0]) or len(lengths[0]) > 7:
        raise Malformed(f"Content-Length {lengths[0][:20]!r} is not a number")
    length = int(lengths[0])
    if length > len(message.body):
        raise Malformed(f"Content-Length {length} but {len(message.body)} body bytes")
    message.body = message.body[:length]


def reply(request: Message, status: int, reason: str, extra: list[tuple[str, str]] = (), *,
          sdp: str | None = None) -> Message:
    """A response to ``request`` with its Via, From, To (a tag added to a final response),
    Call-ID and CSeq fields copied, ``extra`` fields after them and ``sdp`` as its body."""
    headers = [("via", value) for value in request.all("via")]
    for name in ("from", "to", "call-id", "cseq"):
        value = request.first(name)
        if value is not None:
            if name == "to" and status > 100 and ";tag=" not in value.replace(" ", "").lower():
                value += f";tag={secrets.token_hex(8)}"
            headers.append((name, value))
    body = (sdp or "").encode("utf-8")
    if sdp is not None:
        extra = [*extra, ("content-type", "application/sdp")]
    headers += list(extra) + [("content-length", str(len(body)))]
    return Message(f"SIP/2.0 {status} {reason}", headers, body)


def salvage(data: bytes, limits: Limits = Limits()) -> Message | None:
    """A request that :func:`parse` refused, read leniently enough to answer it: its start
    line and the readable header fields within limits (no body); None if not even the
    start line is a request line."""
    text = data[:limits.message_bytes].decode("latin-1")
    lines = text.split("\r\n\r\n", 1)[0].split("\r\n")
    if not REQUEST_LINE.match(lines[0]):
        return None
    headers = []
    for line in lines[1:limits.headers + 1]:
        name, colon, value = line.partition(":")
        name = COMPACT.get(name.strip().lower(), name.strip().lower())
        if colon and len(line) <= limits.header_bytes and TOKEN.match(name):
            headers += [(name, item) for item in (split_values(value) if name == "via" else [value.strip()])]
    return Message(lines[0], headers, b"")
