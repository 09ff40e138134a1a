"""Recordings: what one leg of a call sent, from rtpengine's pcap capture to a WAV file.

rtpengine records with ``--recording-method=pcap`` (Debian's WAV recording daemon needs
the kernel module): every RTP packet it receives for a recorded call goes into a pcap
file of its spool, ``pcaps/<call id, percent-encoded>-<random>.pcap``, one file each
time recording starts.

Contract: :func:`pcap_files` lists a call's captures; :func:`leg_audio` reads them
(raw-IP or Ethernet link types, IPv4, UDP) and returns the 8 kHz 16-bit mono PCM of the
G.711 packets (PCMU, PCMA) that arrived on one of ``ports`` (the leg's RTP ports on
rtpengine's side) between ``since`` and ``until`` (Unix time); other payloads
(telephone-event, comfort noise) are left out. A packet is placed by its RTP timestamp,
a new SSRC or a timestamp more than a second off its arrival time by its arrival time;
gaps are silence, so the audio lasts as long as the leg sent, never longer.
:func:`write_wav` writes PCM as a WAV file created 0600.
"""
from __future__ import annotations

import struct
import urllib.parse
import wave
from array import array
from pathlib import Path
from typing import BinaryIO, Collection, Iterator

from caruso_core.privatefiles import create_file

RATE = 8000
PCMU, PCMA = 0, 8
LINK_ETHERNET, LINK_RAW = 1, 101
MAX_RECORD = 1 << 16
RESYNC_SAMPLES = RATE


def _ulaw_sample(code: int) -> int:
    code = ~code & 0xFF
    magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84
    return -magnitude if code & 0x80 else magnitude


def _alaw_sample(code: int) -> int:
    code ^= 0x55
    mantissa, segment = (code & 0x0F) << 4, (code >> 4) & 0x07
    magnitude = mantissa + 8 if segment == 0 else (mantissa + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


DECODE = {PCMU: array("h", map(_ulaw_sample, range(256))), PCMA: array("h", map(_alaw_sample, range(256)))}


def pcap_files(spool: Path, call: str) -> list[Path]:
    """The call's pcap files in rtpengine's spool, oldest first."""
    found = [path for path in (spool / "pcaps").glob("*.pcap")
             if urllib.parse.unquote(path.stem.rpartition("-")[0]) == call]
    return sorted(found, key=lambda path: path.stat().st_mtime)


def leg_audio(files: list[Path], ports: Collection[int], since: float, until: float) -> bytes:
    pcm = array("h")
    first_arrival: float | None = None
    anchor: tuple[int, int, int] | None = None   # (ssrc, RTP timestamp, sample position)
    for arrival, ssrc, timestamp, samples in _g711_packets(files, ports, since, until):
        first_arrival = arrival if first_arrival is None else first_arrival
        by_arrival = round((arrival - first_arrival) * RATE)
        if anchor is None or anchor[0] != ssrc:
            anchor = (ssrc, timestamp, by_arrival)
        position = anchor[2] + ((timestamp - anchor[1]) & 0xFFFFFFFF)
        if abs(position - by_arrival) > RESYNC_SAMPLES:
            anchor, position = (ssrc, timestamp, by_arrival), by_arrival
        pcm.frombytes(bytes(2 * max(0, position - len(pcm))))
        pcm[position:position + len(samples)] = samples
    return pcm.tobytes()


def _g711_packets(files: list[Path], ports: Collection[int], since: float,
                  until: float) -> Iterator[tuple[float, int, int, array]]:
    """(arrival, SSRC, RTP timestamp, decoded samples) of the G.711 packets to ``ports``."""
    for path in files:
        with path.open("rb") as capture:
            for arrival, port, datagram in _udp_records(capture):
                if port not in ports or not since <= arrival <= until or len(datagram) < 12:
                    continue
                first, marker_and_type, _, timestamp, ssrc = struct.unpack_from("!BBHII", datagram)
                decode = DECODE.get(marker_and_type & 0x7F)
                if first >> 6 == 2 and decode is not None:
                    yield arrival, ssrc, timestamp, array("h", map(decode.__getitem__, _rtp_payload(datagram, first)))


def _rtp_payload(datagram: bytes, header: int) -> bytes:
    start = 12 + 4 * (header & 0x0F)
    if header & 0x10 and len(datagram) >= start + 4:   # a header extension
        start += 4 + 4 * struct.unpack_from("!H", datagram, start + 2)[0]
    end = len(datagram) - (datagram[-1] if header & 0x20 else 0)   # padding
    return datagram[start:end] if start <= end else b""


def _udp_records(capture: BinaryIO) -> Iterator[tuple[float, int, bytes]]:
    """(arrival time, destination port, UDP payload) of each IPv4 UDP packet of a pcap."""
    head = capture.read(24)
    if len(head) < 24:
        return
    magic = head[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
             b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if order is None:
        return
    fraction = 1e-9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e-6
    link = struct.unpack(order + "I", head[20:24])[0] & 0x0FFFFFFF
    skip = {LINK_ETHERNET: 14, LINK_RAW: 0}.get(link)
    if skip is None:
        return
    while len(record := capture.read(16)) == 16:
        seconds, part, length, _ = struct.unpack(order + "IIII", record)
        if length > MAX_RECORD:
            return
        packet = capture.read(length)[skip:]
        if len(packet) < 28 or packet[0] >> 4 != 4 or packet[9] != 17:
            continue
        udp = (packet[0] & 0x0F) * 4
        port = struct.unpack_from("!H", packet, udp + 2)[0] if len(packet) >= udp + 8 else 0
        yield seconds + part * fraction, port, packet[udp + 8:]


def write_wav(path: Path, pcm: bytes) -> Path:
    create_file(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    return path
