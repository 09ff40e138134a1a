"""Bencode, the encoding of rtpengine's ng control protocol: an encoder and a bounded decoder.

Contract: :func:`encode` takes a dict with str keys, a list or tuple, a str (written as
UTF-8), bytes or an int (not a bool) and returns bytes; dict keys are written sorted
(canonical form). :func:`decode` returns the one value ``data`` holds: byte strings as
str (UTF-8, undecodable bytes kept as surrogate escapes, so that ``encode(decode(data))
== data`` for canonical input), integers as int, lists as list, dictionaries as dict.
It raises :class:`BencodeError` (a ValueError) for malformed input, bytes after the
value, duplicate keys, nesting deeper than ``max_depth``, input longer than
``max_size``; it never reads past ``data``. Both refuse integers outside the signed
64-bit range (rtpengine's).
"""
from __future__ import annotations

from typing import Any

MAX_DEPTH = 32
MAX_SIZE = 1 << 16
MAX_INTEGER_DIGITS = 20
INTEGERS = range(-(1 << 63), 1 << 63)


class BencodeError(ValueError):
    """The data is not one well-formed bencoded value within the limits."""


def encode(value: Any) -> bytes:
    parts: list[bytes] = []
    _encode(value, parts, 0)
    return b"".join(parts)


def _encode(value: Any, parts: list[bytes], depth: int) -> None:
    """``depth``: how many lists and dictionaries enclose ``value``."""
    if isinstance(value, (list, tuple, dict)) and depth >= MAX_DEPTH:
        raise BencodeError(f"nesting deeper than {MAX_DEPTH}")
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):
        parts += (str(len(value)).encode(), b":", value)
    elif isinstance(value, int) and not isinstance(value, bool):
        if value not in INTEGERS:
            raise BencodeError(f"integer {value} outside the signed 64-bit range")
        parts.append(b"i%de" % value)
    elif isinstance(value, (list, tuple)):
        parts.append(b"l")
        for item in value:
            _encode(item, parts, depth + 1)
        parts.append(b"e")
    elif isinstance(value, dict):
        parts.append(b"d")
        for key in sorted(value):
            if not isinstance(key, str):
                raise BencodeError(f"dictionary key {key!r} is not a str")
            _encode(key, parts, depth + 1)
            _encode(value[key], parts, depth + 1)
        parts.append(b"e")
    else:
        raise BencodeError(f"cannot encode a {type(value).__name__}")


def decode(data: bytes, max_depth: int = MAX_DEPTH, max_size: int = MAX_SIZE) -> Any:
    if len(data) > max_size:
        raise BencodeError(f"{len(data)} bytes, more than {max_size}")
    value, end = _Decoder(bytes(data), max_depth).value(0, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} bytes after the value")
    return value


class _Decoder:
    def __init__(self, data: bytes, max_depth: int) -> None:
        self.data = data
        self.max_depth = max_depth

    def value(self, at: int, depth: int) -> tuple[Any, int]:
        """The value at offset ``at`` and the offset after it; ``depth``: how many lists
        and dictionaries enclose it."""
        lead = self.data[at:at + 1]
        if lead in (b"l", b"d") and depth >= self.max_depth:
            raise BencodeError(f"nesting deeper than {self.max_depth}")
        if lead == b"i":
            return self.integer(at + 1)
        if lead == b"l":
            return self.list(at + 1, depth)
        if lead == b"d":
            return self.dictionary(at + 1, depth)
        if lead.isdigit():
            return self.string(at)
        raise BencodeError(f"unexpected {lead!r} at offset {at}")

    def integer(self, at: int) -> tuple[int, int]:
        end = self.data.find(b"e", at, at + MAX_INTEGER_DIGITS + 2)
        digits = self.data[at:end]
        unsigned = digits[1:] if digits.startswith(b"-") else digits
        if end < 0 or not unsigned.isdigit() or (unsigned.startswith(b"0") and digits != b"0"):
            raise BencodeError(f"malformed integer at offset {at - 1}")
        if (value := int(digits)) not in INTEGERS:
            raise BencodeError(f"integer at offset {at - 1} outside the signed 64-bit range")
        return value, end + 1

    def string(self, at: int) -> tuple[str, int]:
        colon = self.data.find(b":", at, at + 10)
        length = self.data[at:colon]
        if colon < 0 or not length.isdigit() or (length.startswith(b"0") and length != b"0"):
            raise BencodeError(f"malformed string length at offset {at}")
        start, end = colon + 1, colon + 1 + int(length)
        if end > len(self.data):
            raise BencodeError(f"string at offset {at} runs past the end")
        return self.data[start:end].decode("utf-8", "surrogateescape"), end

    def list(self, at: int, depth: int) -> tuple[list[Any], int]:
        items = []
        while self.data[at:at + 1] != b"e":
            item, at = self.value(at, depth + 1)
            items.append(item)
        return items, at + 1

    def dictionary(self, at: int, depth: int) -> tuple[dict[str, Any], int]:
        entries: dict[str, Any] = {}
        while self.data[at:at + 1] != b"e":
            if not self.data[at:at + 1].isdigit():
                raise BencodeError(f"dictionary key at offset {at} is not a string")
            key, at = self.string(at)
            if key in entries:
                raise BencodeError(f"duplicate key {key!r}")
            entries[key], at = self.value(at, depth + 1)
        return entries, at + 1
