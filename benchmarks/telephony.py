"""Telephony: SIPp callers through the IVR (one RFC 4733 digit) and the ACD's queue to SIPp
agent phones, on 127.0.0.1, rate ramped until the first failed call.

Measured in one run, with the same SIPp scenarios (``tests/telephony/sipp``: the caller
keys 1 and waits, the phone answers and hangs up after ``TALK_MS``; provisional
responses optional, so only calls that really failed count):
- caruso: scripts, the communication server (IVR menu, voice channel) and telephony
  (rtpengine anchoring every call's media), ``AGENTS`` agents whose phones are one SIPp;
- the reference: sippy's bare B2BUA (``b2bua_simple``: no IVR, no ACD, no media anchor)
  between the same callers and phone.
Each step runs ``STEP_SECONDS`` of calls at a rate; a call fails when it is refused or
not over within ``CALL_LIMIT_MS`` of waiting for its next message (SIPp's
``-recv_timeout``); the highest rate with 0 failed calls, and the ratio of the highest
rates. Then, for caruso only, ``CONCURRENT`` callers stay in the IVR for ``LINGER_MS``
(each answered, with its media session in rtpengine, hearing the welcome) before they
hang up: the most answered calls telephony held at once (its ``calls()``), and SIPp's failures.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._kit import ROOT, solution

sys.path.insert(0, str(ROOT / "tests" / "telephony"))
from sip_peers import Sipp, free_port  # noqa: E402

RATES = (2, 5, 10, 20, 30, 40, 60)
STEP_SECONDS = 8
CALL_LIMIT_MS = 20000
CONCURRENT = 350
CONCURRENT_RATE = 25
LINGER_MS = 20000
AGENTS = 60
TALK_MS = 1000
WELCOME_MS = 500
SCRIPTS = ROOT / "tests" / "comm" / "scripts"
MENU = {"script": "hotline", "numbers": ["100"], "default": "power", "routes": {"power": "power", "other": "waiting"}}
QUEUES = [{"name": "power"}, {"name": "waiting", "skills": {"night_shift": 1}}]    # waiting: nobody answers


def limits(seconds: float) -> list[str]:
    return ["-recv_timeout", str(CALL_LIMIT_MS), "-timeout", str(int(seconds))]


def ramp(folder: Path, target: str) -> dict[str, Any]:
    """Steps of ``RATES`` until one has a failed call: the best rate with none."""
    best, failed_at = 0, None
    for rate in RATES:
        calls = rate * STEP_SECONDS
        caller = Sipp("caller_queued.xml", folder, target, service="100", calls=calls, rate=rate,
                      duration=WELCOME_MS, extra=limits(STEP_SECONDS + 120))
        caller.run(timeout=STEP_SECONDS + 130)
        counts = caller.counts()
        print(f"   {rate:>3} calls/s: {counts['successful']} successful, {counts['failed']} failed", flush=True)
        if counts["failed"] or counts["successful"] < calls:
            failed_at = rate
            break
        best = rate
    return {"calls_per_second": best, "first_failure_at": failed_at}


def concurrency(folder: Path, target: str, telephony: Any) -> dict[str, Any]:
    """``CONCURRENT`` callers lingering in the IVR: the most calls held with media at once."""
    caller = Sipp("caller_abandons.xml", folder, target, service="100", calls=CONCURRENT, rate=CONCURRENT_RATE,
                  duration=LINGER_MS, extra=limits(CONCURRENT / CONCURRENT_RATE + 120)).start()
    most = 0
    while caller.process.poll() is None:
        most = max(most, sum(call["answered"] is not None for call in telephony.calls()))
        time.sleep(0.5)
    counts = caller.counts()
    print(f"   {CONCURRENT} callers: at most {most} calls with media at once; {counts['successful']} successful, "
          f"{counts['failed']} failed", flush=True)
    return {"most_concurrent_with_media": most, **{f"concurrent_{key}": value for key, value in counts.items()}}


def bare(folder: Path) -> dict[str, Any]:
    phone = Sipp("phone_hangs_up.xml", folder, calls=100000, duration=TALK_MS).start()
    port = free_port()
    b2bua = subprocess.Popen([str(Path(sys.executable).parent / "b2bua_simple"), "-f", "-l", "127.0.0.1",
                              "-p", str(port), "-n", f"127.0.0.1:{phone.port}", "-L", "/dev/null"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_bound(port)
        return ramp(folder, f"127.0.0.1:{port}")
    finally:
        b2bua.terminate()
        b2bua.wait(10)
        phone.stop()


def caruso(folder: Path) -> dict[str, Any]:
    with solution() as running:
        port = free_port()
        running.host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{folder / 'scripts.db'}"})
        running.host("telephony", config={"udp_port": port, "numbers": ["100"], "max_calls": 2000,
                                          "media": {"rtp_ports": [30000, 39999]}})
        running.host("comm", config={"db": f"sqlite:///{folder / 'comm.db'}", "queues": QUEUES,
                                     "ivr": [MENU], "channels": {"voice": {"position_every": 0}}})
        telephony, comm = running.client.get("caruso.telephony/1"), running.client.get("caruso.comm/1")
        phone = Sipp("phone_hangs_up.xml", folder, calls=100000, duration=TALK_MS).start()
        for number in range(AGENTS):
            telephony.set_phone(f"agent-{number}", f"phone{number}", f"secret{number}")
            register = Sipp("phone_register.xml", folder, f"127.0.0.1:{port}", auth=(f"phone{number}", f"secret{number}"),
                            keys={"user": f"phone{number}", "contact_port": phone.port, "expires": 3600})
            if register.run() != 0:
                raise RuntimeError(f"phone{number} did not register:\n{register.log()}")
            comm.login(f"agent-{number}", {}, {"voice": 1})
        try:
            return {**ramp(folder, f"127.0.0.1:{port}"), **concurrency(folder, f"127.0.0.1:{port}", telephony)}
        finally:
            phone.stop()


def _wait_bound(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise RuntimeError(f"b2bua_simple did not bind 127.0.0.1:{port}")


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        print("-- bare sippy B2BUA (reference)", flush=True)
        reference = bare(folder)
        print("-- caruso: IVR, queue, agents' phones, media through rtpengine", flush=True)
        ours = caruso(folder)
    ratio = ours["calls_per_second"] / reference["calls_per_second"] if reference["calls_per_second"] else None
    print(f"caruso {ours['calls_per_second']} calls/s with 0 failed ({ours['most_concurrent_with_media']} calls with "
          f"media at once), "
          f"bare B2BUA {reference['calls_per_second']} calls/s: ratio {ratio}", flush=True)
    return {"caruso": ours, "bare_b2bua": reference, "ratio": ratio}
