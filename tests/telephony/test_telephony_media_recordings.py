"""Recordings from pcap captures: G.711 decoding, placement by timestamp, bounded length,
other legs and payloads left out."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from caruso_telephony.recordings import DECODE, PCMA, PCMU, leg_audio, pcap_files

LEG_PORT, OTHER_PORT = 30010, 30020


def rtp(payload_type: int, timestamp: int, ssrc: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, payload_type, 0, timestamp, ssrc) + payload


def ipv4_udp(port: int, datagram: bytes) -> bytes:
    udp = struct.pack("!HHHH", 40000, port, 8 + len(datagram), 0) + datagram
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(4), bytes(4)) + udp


def write_pcap(path: Path, packets: list[tuple[float, int, bytes]]) -> Path:
    """A raw-IP pcap (as rtpengine writes) of (arrival, destination port, RTP datagram)."""
    records = b"".join(struct.pack("<IIII", int(arrival), round(arrival % 1 * 1e6), len(packet), len(packet)) + packet
                       for arrival, port, datagram in packets for packet in [ipv4_udp(port, datagram)])
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101) + records)
    return path


def test_g711_decodes_to_the_standard_levels():
    assert (DECODE[PCMU][0xFF], DECODE[PCMU][0x7F], DECODE[PCMU][0x00], DECODE[PCMU][0x80]) == (0, 0, -32124, 32124)
    assert (DECODE[PCMA][0xD5], DECODE[PCMA][0x55], DECODE[PCMA][0xAA], DECODE[PCMA][0x2A]) == (8, -8, 32256, -32256)


def test_a_leg_is_placed_by_timestamp_and_never_runs_longer_than_it_sent(tmp_path):
    start = 1_700_000_000.0
    packets = [(start + i * 0.02, LEG_PORT, rtp(PCMU, 1000 + 160 * i, 7, b"\x00" * 160)) for i in range(50)]
    packets += [(start + 0.5, OTHER_PORT, rtp(PCMU, 0, 9, b"\x00" * 160)),        # the other leg
                (start + 0.5, LEG_PORT, rtp(101, 0, 7, b"\x05\x0a\x00\xa0")),   # a telephone-event
                (start + 1.0, LEG_PORT, rtp(PCMU, 2_000_000_000, 7, b"\xff" * 160)),   # a wild timestamp
                (start + 1.02, LEG_PORT, rtp(PCMA, 555, 8, b"\xd5" * 160))]      # a new SSRC
    capture = write_pcap(tmp_path / "pcaps" / "call%40host-0123456789abcdef.pcap", sorted(packets))
    assert pcap_files(tmp_path, "call@host") == [capture] and pcap_files(tmp_path, "call") == []
    pcm = leg_audio([capture], {LEG_PORT}, start, start + 2)
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    assert len(samples) == round(1.04 * 8000)
    assert set(samples[:8000]) == {-32124} and set(samples[-160:]) == {8}
    assert len(leg_audio([capture], {LEG_PORT}, start + 0.5, start + 2)) < len(pcm)


@pytest.mark.parametrize("head", [b"", b"\x00" * 24, struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 228)])
def test_unreadable_captures_give_no_audio(tmp_path, head):
    capture = tmp_path / "broken.pcap"
    capture.write_bytes(head + b"\x01" * 100)
    assert leg_audio([capture], {LEG_PORT}, 0, 2e9) == b""
