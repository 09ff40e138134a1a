"""SIP peers for telephony tests, all on 127.0.0.1: SIPp scenarios (callers, phones, trunks),
requests written by hand over UDP and TCP, and a telephony service hosted in a process.

Every SIPp gets its own free SIP port and media port (``-mp``, below the kernel's ephemeral
range is left to rtpengine); its messages are traced to a file the test reads.

SIPp plays a call's audio in one thread, and a ``play_pcap_audio`` cancels the play still
under way: a key followed by speech, played as two actions with a pause between them, loses
the key's last packets (and so the key) whenever SIPp's thread is late by more than the
pause. A scenario names such a sequence in one action instead, as files of
``/usr/share/sip-tester`` joined by ``+`` (``play_pcap_audio="dtmf_2833_1.pcap+g711a.pcap"``):
:func:`joined_pcap` makes one capture of them, each part starting ``PCAP_GAP`` after the last.
"""
from __future__ import annotations

import os
import re
import secrets
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

from caruso_core.ports import free_port_range
from caruso_core.testing import eventually
from caruso_core.testing import processes

SCENARIOS = Path(__file__).parent / "sipp"
SIPP_TIMEOUT = 60
PCAPS = Path("/usr/share/sip-tester")
PCAP_GAP = 0.1
PCAP_MAGIC = 0xA1B2C3D4            # microsecond timestamps
ETHERNET = 14                      # bytes of an Ethernet header
JOINED_PLAY = re.compile(r'play_pcap_audio="([^"/]+(?:\+[^"/]+)+)"')
BIND_FAILED = re.compile(r"Unable to bind (main|TCP) socket")            # its SIP port, UDP or TCP


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both)."""
    return processes.free_port(udp=True)


def free_media_port() -> int:
    """An even port with the next three free for UDP (SIPp's audio and video, RTP and RTCP)."""
    port = processes.free_port(span=5, udp=True)
    return port + (port & 1)


def rtp_range(size: int = 64) -> list[int]:
    """An RTP range of ``size`` ports for one telephony service (each instance of a swap
    uses half), shared with no other relay of the run (:func:`caruso_core.ports.free_port_range`)."""
    return list(free_port_range(size))


class Sipp:
    """One SIPp run of ``scenario`` (a file of ``sipp/``, or a path) against ``target``
    (``host:port``; None for a UAS that waits). ``keys``: ``-key`` values; ``duration``:
    ``-d`` in ms (the scenarios' ``<pause/>``); ``tcp``: transport t1 instead of u1;
    ``limit``: seconds SIPp runs at most, counted from its start; ``port``: its SIP port
    (else a free one, which :meth:`start` may change: read ``port`` after it)."""

    def __init__(self, scenario: str | Path, folder: Path, target: str | None = None, *, service: str | None = None,
                 keys: dict[str, Any] | None = None, duration: int | None = None, calls: int = 1, tcp: bool = False,
                 rtp_echo: bool = False, auth: tuple[str, str] | None = None, rate: float | None = None,
                 extra: list[str] | None = None, limit: int = SIPP_TIMEOUT, port: int | None = None) -> None:
        self.limit = limit
        self.fixed_port = port
        self.folder = folder
        self.scenario = Path(scenario).stem
        scenario_file = with_joined_plays(scenario if Path(scenario).is_absolute() else SCENARIOS / scenario, folder)
        self.options = ["-sf", str(scenario_file), "-i", "127.0.0.1", "-mi", "127.0.0.1", "-m", str(calls), "-nostdin",
                        "-timeout", str(limit), "-timeout_error", "-trace_msg", "-t", "t1" if tcp else "u1"]
        if service is not None:
            self.options += ["-s", service]
        for key, value in (keys or {}).items():
            self.options += ["-key", key, str(value)]
        if duration is not None:
            self.options += ["-d", str(duration)]
        if rtp_echo:
            self.options.append("-rtp_echo")
        if auth is not None:
            self.options += ["-au", auth[0], "-ap", auth[1]]
        if rate is not None:
            self.options += ["-r", str(rate)]
        self.options += ["-trace_stat", *(extra or [])]
        self.target = target
        self.process: subprocess.Popen[bytes] | None = None
        self._take_ports()

    def _take_ports(self) -> None:
        """Free SIP and media ports, and the files named after the SIP port."""
        self.port = self.fixed_port or free_port()
        self.media_port = free_media_port()
        self.name = f"{self.scenario}-{self.port}"
        self.trace = self.folder / f"{self.name}.msg"
        self.stats = self.folder / f"{self.name}.csv"
        self.output = self.folder / f"{self.name}.out"

    def start(self) -> "Sipp":
        """Start SIPp; returns once it holds its SIP port or ended. A free port another
        process took before SIPp bound it is left for other ports (twice at most)."""
        for attempt in range(3):
            with open(self.output, "wb") as output:
                self.process = subprocess.Popen(
                    ["sipp", *self.options, "-p", str(self.port), "-mp", str(self.media_port),
                     "-message_file", str(self.trace), "-stf", str(self.stats),
                     *([self.target] if self.target is not None else [])],
                    stdout=output, stderr=subprocess.STDOUT)
            eventually(self._listening, what=f"SIPp {self.name} listening")
            if self.process.poll() is None or self.fixed_port or attempt == 2 \
                    or not BIND_FAILED.search(self.output.read_text(errors="replace")):
                return self
            self._take_ports()
        return self

    def _listening(self) -> bool:
        """SIPp ended, or one of its sockets is bound to its SIP port."""
        assert self.process is not None
        if self.process.poll() is not None:
            return True
        try:
            held = {os.readlink(f"/proc/{self.process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{self.process.pid}/fd")}
        except OSError:                     # it ended, or closed a descriptor meanwhile
            return self.process.poll() is not None
        for table in ("/proc/net/udp", "/proc/net/tcp"):
            with open(table, encoding="ascii") as sockets:
                for line in sockets.readlines()[1:]:
                    fields = line.split()
                    if int(fields[1].split(":")[1], 16) == self.port and f"socket:[{fields[9]}]" in held:
                        return True
        return False

    def wait(self, timeout: float | None = None) -> int:
        assert self.process is not None
        timeout = self.limit + 10 if timeout is None else timeout
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"SIPp {self.name} did not finish in {timeout}s:\n{self.log()}") from None

    def run(self, timeout: float | None = None) -> int:
        return self.start().wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return text[-3000:] + "\n" + self.messages()[-3000:]

    def counts(self) -> dict[str, int]:
        """SIPp's own statistics at its end: ``successful`` and ``failed`` calls."""
        rows = [line.split(";") for line in self.stats.read_text().splitlines() if line.strip()]
        last = dict(zip(rows[0], rows[-1]))
        return {"successful": int(last["SuccessfulCall(C)"]), "failed": int(last["FailedCall(C)"])}

    def messages(self) -> str:
        return self.trace.read_text(errors="replace") if self.trace.exists() else ""

    def received(self) -> list[str]:
        """The messages SIPp received, in order."""
        blocks = re.split(r"^-{20,} .*$", self.messages(), flags=re.M)
        return [block.split("\n\n", 1)[1].strip() for block in blocks if "message received" in block.split("\n\n", 1)[0]]

    def statuses(self) -> list[int]:
        """The status codes of the responses SIPp received, in order."""
        return [status(message) for message in self.received() if message.startswith("SIP/2.0 ")]


def with_joined_plays(scenario: Path, folder: Path) -> Path:
    """``scenario``, or a copy of it in ``folder`` whose joined plays (``a.pcap+b.pcap``) name
    captures made by :func:`joined_pcap`."""
    text = scenario.read_text()
    if not JOINED_PLAY.search(text):
        return scenario

    def joined(match: re.Match[str]) -> str:
        parts = match.group(1).split("+")
        target = folder / ("joined-" + "-".join(Path(part).stem for part in parts) + ".pcap")
        joined_pcap([PCAPS / part for part in parts], target)
        return f'play_pcap_audio="{target}"'

    copy = folder / f"joined-{scenario.name}"
    copy.write_text(JOINED_PLAY.sub(joined, text))
    return copy


def joined_pcap(parts: list[Path], target: Path) -> None:
    """One capture (libpcap format: Ethernet, IPv4, UDP) of the packets of ``parts`` in turn,
    each part moved in time to start ``PCAP_GAP`` seconds after the last packet before it and
    given the UDP ports of the first (SIPp sends each packet to the call's media port plus
    the packet's offset from the lowest port of the capture); UDP checksums left out, as
    IPv4 allows."""
    header, records, end, ports = b"", [], 0, b""
    for part in parts:
        data = part.read_bytes()
        if struct.unpack_from("<I", data)[0] != PCAP_MAGIC or header and data[:24] != header:
            raise ValueError(f"{part} is not a little-endian capture like {parts[0]}")
        header, packets, offset = data[:24], [], 24
        while offset < len(data):
            seconds, micros, length, original = struct.unpack_from("<IIII", data, offset)
            frame = bytearray(data[offset + 16:offset + 16 + length])
            udp = ETHERNET + (frame[ETHERNET] & 0x0F) * 4
            ports = ports or frame[udp:udp + 4]
            frame[udp:udp + 4], frame[udp + 6:udp + 8] = ports, b"\0\0"
            packets.append((seconds * 1_000_000 + micros, original, bytes(frame)))
            offset += 16 + length
        shift = end + round(PCAP_GAP * 1_000_000) - packets[0][0] if records else 0
        for moment, original, payload in packets:
            end = moment + shift
            records.append(struct.pack("<IIII", *divmod(end, 1_000_000), len(payload), original) + payload)
    target.write_bytes(header + b"".join(records))


def refusing(folder: Path, code: int, reason: str) -> Path:
    """A copy of the template ``phone_refuses.xml`` answering ``code reason`` (SIPp checks
    status codes when it loads a scenario, so the code cannot be a key)."""
    scenario = folder / f"refuses_{code}.xml"
    template = (SCENARIOS / "phone_refuses.xml").read_text()
    scenario.write_text(template.replace("@CODE@", str(code)).replace("@REASON@", reason))
    return scenario


def request(method: str, target: str, *, port: int, transport: str = "UDP", call_id: str | None = None,
            headers: dict[str, str | None] | None = None, body: str = "", length: int | None = None) -> bytes:
    """A request written by hand from 127.0.0.1:``port``; ``headers`` override the usual ones
    (None leaves one out); ``length`` overrides Content-Length."""
    branch = secrets.token_hex(6)
    fields: dict[str, str | None] = {
        "Via": f"SIP/2.0/{transport} 127.0.0.1:{port};branch=z9hG4bK{branch};rport",
        "From": f"<sip:probe@127.0.0.1:{port}>;tag={secrets.token_hex(4)}",
        "To": f"<{target}>",
        "Call-ID": call_id or f"{secrets.token_hex(8)}@probe",
        "CSeq": f"1 {method}",
        "Contact": f"<sip:probe@127.0.0.1:{port};transport={transport.lower()}>",
        "Max-Forwards": "70",
    }
    if body:
        fields["Content-Type"] = "application/sdp"
    fields.update(headers or {})
    fields["Content-Length"] = str(len(body.encode()) if length is None else length)
    lines = [f"{method} {target} SIP/2.0"] + [f"{name}: {value}" for name, value in fields.items() if value is not None]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sdp(port: int, codecs: str = "0 101") -> str:
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP {codecs}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")


class UdpProbe:
    """A UDP socket sending hand-written requests and reading what comes back."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.port = self.sock.getsockname()[1]

    def send(self, data: bytes, target: tuple[str, int]) -> None:
        self.sock.sendto(data, target)

    def responses(self, wait: float = 2.0, until: int | None = None) -> list[str]:
        """Responses (their text) within ``wait`` seconds, or as soon as one has status >= ``until``."""
        got: list[str] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535).decode(errors="replace")
            except socket.timeout:
                break
            got.append(data)
            if until is not None and status(data) >= until:
                break
        return got

    def close(self) -> None:
        self.sock.close()


def status(response: str) -> int:
    match = re.match(r"SIP/2\.0 (\d{3})", response)
    return int(match.group(1)) if match else 0
