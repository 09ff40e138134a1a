"""Bencode as the ng protocol uses it: round trips, canonical form, and the decoder's limits."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from caruso_telephony.bencode import MAX_DEPTH, BencodeError, decode, encode

values = st.recursive(st.integers(-(1 << 63), (1 << 63) - 1) | st.text(max_size=20),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=4),
                      max_leaves=20)


@given(values)
def test_what_is_encoded_decodes_to_the_same_value(value):
    assert decode(encode(value)) == value


def test_ng_messages_encode_canonically_and_bytes_survive():
    assert encode({"sdp": "v=0", "command": "offer", "flags": ["port latching"], "n": -3}) == \
        b"d7:command5:offer5:flagsl13:port latchinge1:ni-3e3:sdp3:v=0e"
    assert encode(b"\xff\x00") == b"2:\xff\x00" and encode(decode(b"2:\xff\x00")) == b"2:\xff\x00"
    assert decode(b"d6:result4:pong3:\xc3\xa9t0:e") == {"result": "pong", "ét": ""}


@pytest.mark.parametrize("data", [b"", b"i", b"i-e", b"i-0e", b"i007e", b"i1x2e", b"i" + b"9" * 30 + b"e",
                                  b"i9223372036854775808e", b"5:abc", b"01:a", b"3x:abc", b"l", b"d3:key",
                                  b"di1ei2ee", b"d1:ai1e1:ai2ee", b"i1ei2e", b"x", b"-1:a", b"99999999999:a"])
def test_malformed_input_is_refused(data):
    with pytest.raises(BencodeError):
        decode(data)


def test_depth_and_size_are_bounded():
    assert decode(b"l" * MAX_DEPTH + b"e" * MAX_DEPTH)
    with pytest.raises(BencodeError, match="deeper"):
        decode(b"l" * (MAX_DEPTH + 1) + b"e" * (MAX_DEPTH + 1))
    with pytest.raises(BencodeError, match="more than 100"):
        decode(b"101:" + b"x" * 101, max_size=100)
    nested: list = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert encode(nested) == b"l" * MAX_DEPTH + b"e" * MAX_DEPTH
    with pytest.raises(BencodeError, match="deeper"):
        encode([nested])
    for unencodable in (True, 1.5, None, {1: "a"}, 1 << 63):
        with pytest.raises(BencodeError):
            encode(unencodable)
