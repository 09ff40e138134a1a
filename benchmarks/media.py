"""Media: the telephony component's rtpengine, from start to call set-up, on 127.0.0.1.

Measured in one run:
- the media layer's start (listeners, rtpengine, first ping answered) against starting
  ``/bin/true``, the floor of any child process;
- ``health()`` (an ng ``ping`` to rtpengine) against a UDP echo in a thread of this
  process (the floor of a request and its reply on loopback);
- the set-up of a call's media (offer, answer against the placeholder, delete) as the
  SIP layer makes it, per call and per second, against the ping.
"""
from __future__ import annotations

import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from caruso_telephony.media import Media, MediaSettings

STARTS = 5
PINGS = 2000
CALLS = 500
CALLER_SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
              "m=audio 7000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")


def timed(call: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return sorted(times)


def udp_echo() -> tuple[socket.socket, Callable[[], None]]:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))

    def echo() -> None:
        while (datagram := server.recvfrom(2048))[0] != b"stop":
            server.sendto(*datagram)

    threading.Thread(target=echo, daemon=True).start()
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.connect(server.getsockname())

    def round_trip() -> None:
        client.send(b"d7:command4:pinge")
        client.recv(2048)

    return client, round_trip


def run() -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        settings = MediaSettings(recordings=Path(scratch, "recordings"), prompts=Path(scratch, "prompts"),
                                 rtp_ports=(24000, 25999))
        medias, starts = [], []
        for _ in range(STARTS):
            media = Media(settings, lambda *report: None, lambda call: None)
            began = time.perf_counter()
            media.start()
            starts.append(time.perf_counter() - began)
            medias.append(media)
        for media in medias[1:]:
            media.stop()
        media = medias[0]
        try:
            floor = timed(lambda: subprocess.run(["/bin/true"], check=True), STARTS)
            echo_client, echo = udp_echo()
            echoes = timed(echo, PINGS)
            echo_client.send(b"stop")
            pings = timed(lambda: media.health(), PINGS)
            number = iter(range(CALLS))

            def call_setup() -> None:
                call = f"bench-{next(number)}"
                media.offer(call, "caller", CALLER_SDP)
                media.answer(call, "caller", "ivr", media.placeholder_sdp())
                media.delete(call)

            setups = timed(call_setup, CALLS)
        finally:
            media.stop()
    figures = {
        "start_s": statistics.median(starts),
        "start_ratio_to_true": statistics.median(starts) / statistics.median(floor),
        "ping_us": statistics.median(pings) * 1e6,
        "ping_p99_us": pings[int(len(pings) * 0.99)] * 1e6,
        "ping_ratio_to_udp_echo": statistics.median(pings) / statistics.median(echoes),
        "call_setup_us": statistics.median(setups) * 1e6,
        "call_setup_p99_us": setups[int(len(setups) * 0.99)] * 1e6,
        "call_setups_per_s": len(setups) / sum(setups),
        "call_setup_ratio_to_ping": statistics.median(setups) / statistics.median(pings),
    }
    print(f"media start {figures['start_s'] * 1000:.0f} ms ({figures['start_ratio_to_true']:.0f}x /bin/true); "
          f"ng ping {figures['ping_us']:.0f} us, p99 {figures['ping_p99_us']:.0f} us "
          f"({figures['ping_ratio_to_udp_echo']:.1f}x a UDP echo); call media set-up (offer, answer, delete) "
          f"{figures['call_setup_us']:.0f} us, p99 {figures['call_setup_p99_us']:.0f} us, "
          f"{figures['call_setups_per_s']:.0f}/s ({figures['call_setup_ratio_to_ping']:.1f}x a ping)")
    return figures
