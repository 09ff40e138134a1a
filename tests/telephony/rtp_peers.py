"""RTP peers for media tests: a phone's side of a call on 127.0.0.1.

An :class:`RtpPeer` offers an SDP for its own UDP port, sends G.711 μ-law audio in
20 ms packets at the pace of a real phone, RFC 4733 events and dual-tone (in-band)
digits, and keeps every RTP packet that reaches it. Audio is 8 kHz 16-bit mono PCM.
"""
from __future__ import annotations

import math
import random
import re
import socket
import struct
import threading
import time
from array import array
from typing import NamedTuple

from caruso_core.testing import eventually

RATE = 8000
PACKET_SAMPLES = 160
PCMU, TELEPHONE_EVENT = 0, 101
DTMF_FREQUENCIES = {digit: (low, high) for low, row in zip((697, 770, 852, 941), ("123A", "456B", "789C", "*0#D"))
                    for high, digit in zip((1209, 1336, 1477, 1633), row)}


def _ulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = max(0, magnitude.bit_length() - 8)
    return ~(sign | (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0F)) & 0xFF


ULAW = bytes(_ulaw(sample) for sample in range(-32768, 32768))


def ulaw(pcm: bytes) -> bytes:
    return bytes(ULAW[sample + 32768] for sample in array("h", pcm))


def tone(seconds: float, *frequencies: float, level: int = 8000) -> bytes:
    count = round(seconds * RATE)
    return array("h", (round(level * sum(math.sin(2 * math.pi * f * i / RATE) for f in frequencies))
                       for i in range(count))).tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def dtmf_tone(digit: str, seconds: float = 0.12) -> bytes:
    return tone(seconds, *DTMF_FREQUENCIES[digit])


class Packet(NamedTuple):
    payload_type: int
    ssrc: int
    payload: bytes


class RtpPeer:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.remote: tuple[str, int] | None = None
        self.packets: list[Packet] = []
        self.ssrc = random.getrandbits(32)
        self.sequence = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)
        self._receiver = threading.Thread(target=self._receive, daemon=True)
        self._receiver.start()

    def sdp(self, session: int = 1) -> str:
        return (f"v=0\r\no=- {session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                f"m=audio {self.port} RTP/AVP {PCMU} {TELEPHONE_EVENT}\r\na=rtpmap:0 PCMU/8000\r\n"
                f"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n")

    def connect(self, sdp: str) -> None:
        """Send from now on where ``sdp`` (rtpengine's) says."""
        address = re.search(r"^c=IN IP4 (\S+)", sdp, re.M)
        port = re.search(r"^m=audio (\d+) ", sdp, re.M)
        assert address and port, sdp
        self.remote = (address.group(1), int(port.group(1)))

    def send_audio(self, pcm: bytes) -> None:
        """``pcm`` as 20 ms μ-law packets, one every 20 ms."""
        encoded = ulaw(pcm)
        pace = _Pace()
        for start in range(0, len(encoded), PACKET_SAMPLES):
            self._send(PCMU, encoded[start:start + PACKET_SAMPLES], marker=False, timestamp=self.timestamp)
            self.timestamp += PACKET_SAMPLES
            pace.wait()

    def send_event(self, digit: str, seconds: float = 0.2) -> None:
        """An RFC 4733 event: packets every 20 ms, then the end packet three times."""
        event = "0123456789*#ABCD".index(digit)
        steps = round(seconds / 0.02)
        pace = _Pace()
        for step in range(1, steps + 1):
            self._send(TELEPHONE_EVENT, struct.pack("!BBH", event, 10, step * PACKET_SAMPLES), marker=step == 1,
                       timestamp=self.timestamp)
            pace.wait()
        for _ in range(3):
            self._send(TELEPHONE_EVENT, struct.pack("!BBH", event, 0x80 | 10, steps * PACKET_SAMPLES), marker=False,
                       timestamp=self.timestamp)
        self.timestamp += steps * PACKET_SAMPLES

    def _send(self, payload_type: int, payload: bytes, *, marker: bool, timestamp: int) -> None:
        assert self.remote is not None, "connect() first"
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, self.sequence & 0xFFFF,
                             timestamp & 0xFFFFFFFF, self.ssrc)
        self.sequence += 1
        self.sock.sendto(header + payload, self.remote)

    def _receive(self) -> None:
        while True:
            try:
                datagram = self.sock.recv(2048)
            except OSError:
                return
            if not datagram:   # shut down
                return
            if len(datagram) >= 12:
                _, marker_and_type, _, _, ssrc = struct.unpack_from("!BBHII", datagram)
                self.packets.append(Packet(marker_and_type & 0x7F, ssrc, datagram[12:]))

    def received(self, payload_type: int = PCMU) -> list[Packet]:
        return [packet for packet in list(self.packets) if packet.payload_type == payload_type]

    def wait_for(self, count: int, payload_type: int = PCMU, limit: float = 10.0) -> list[Packet]:
        """The packets of ``payload_type`` once at least ``count`` arrived."""
        return eventually(lambda: self.received(payload_type), lambda got: len(got) >= count, limit,
                          what=f"{count} packets of type {payload_type} at port {self.port}")

    def close(self) -> None:
        close_waking_receiver(self.sock)
        self._receiver.join(5)


def close_waking_receiver(sock: socket.socket) -> None:
    """Close a UDP socket another thread receives on: shutdown wakes that thread (Linux does
    so for an unconnected socket too, though it reports ENOTCONN)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Pace:
    """Sleeps until the next 20 ms slot, as a phone's sound card clocks its packets."""

    def __init__(self) -> None:
        self.next = time.monotonic()

    def wait(self) -> None:
        self.next += 0.02
        time.sleep(max(0.0, self.next - time.monotonic()))
