"""Security: honest clients' latency and the daemons' memory under the three wire attacks.

A manager and a host (real processes, deployment secret on) are attacked at once by
strangers without the secret, while an honest client connects anew and calls each
daemon every 50 ms (a new connection is what a stalled accept loop would hurt):

- ``serializer``: handshakes in marshal and json (``[`` * 13, and 400 KB of nesting),
  which Pyro5 alone decoded before any secret was checked;
- ``compression``: 255 KB handshakes that inflate to 256 MiB;
- ``idle``: 1,000 sockets held open that never send a byte (replaced as they are closed).

Printed per attack, against the honest latency measured without attack in the same
run: the worst and median honest latency (target: worst within 3 s of the baseline's
worst) and the peak-memory growth of each daemon (target: under 100 MB).
"""
from __future__ import annotations

import statistics
import threading
import time
import zlib
from typing import Callable

from Pyro5 import protocol

from benchmarks._kit import solution
from caruso_core import connect
from caruso_core.testing import peers

PROBES = 60
PAUSE = 0.05
IDLE_SOCKETS = 1000
TARGET_DELAY = 3.0
TARGET_GROWTH_MB = 100


def run() -> dict:
    with solution() as running:
        host = running.host("benchmarks._services:Counter")
        daemons = {"manager": (running.manager.uri, running.manager.process.pid),
                   "host": (host.uri, host.process.pid)}
        baseline = _probe(running.manager.uri)
        print(f"honest client, no attack: median {baseline['median_ms']:.1f} ms, worst {baseline['worst_ms']:.1f} ms "
              f"(a new connection and one call to each daemon, every {PAUSE * 1000:.0f} ms)")
        results: dict = {"baseline": baseline}
        for name, attack in (("serializer", _serializer), ("compression", _compression), ("idle", _idle)):
            before = {label: peers.memory(pid)[1] for label, (_, pid) in daemons.items()}
            stop = threading.Event()
            attackers = [threading.Thread(target=attack, args=(uri, stop), daemon=True)
                         for uri, _ in daemons.values()]
            for thread in attackers:
                thread.start()
            time.sleep(0.5)                      # let the attack build up
            measured = _probe(running.manager.uri)
            stop.set()
            for thread in attackers:
                thread.join(30)
            growth = {label: (peers.memory(pid)[1] - before[label]) / 2**20 for label, (_, pid) in daemons.items()}
            delay = (measured["worst_ms"] - baseline["worst_ms"]) / 1000
            measured.update(extra_worst_s=round(delay, 3), within_target=delay <= TARGET_DELAY
                            and max(growth.values()) < TARGET_GROWTH_MB,
                            **{f"{label}_peak_growth_mb": round(mb, 1) for label, mb in growth.items()})
            print(f"{name:12s} median {measured['median_ms']:7.1f} ms  worst {measured['worst_ms']:7.1f} ms "
                  f"(+{delay:.2f} s over the baseline's worst; target <= {TARGET_DELAY:g} s)  peak memory growth: "
                  + ", ".join(f"{label} {mb:.1f} MB" for label, mb in growth.items())
                  + f" (target < {TARGET_GROWTH_MB} MB)  failures {measured['failures']}")
            results[name] = measured
        return results


def _probe(manager_uri: str) -> dict:
    """An honest client, connecting anew each time: latencies of PROBES rounds."""
    latencies, failures = [], 0
    for _ in range(PROBES):
        started = time.perf_counter()
        try:
            client = connect(manager_uri, timeout=30, call_timeout=30)
            client.get("counter").increment()
            client.services()
        except Exception:
            failures += 1
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(PAUSE)
    return {"median_ms": round(statistics.median(latencies), 2), "worst_ms": round(max(latencies), 2),
            "failures": failures}


def _repeat(send: Callable[[], None], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            send()
        except OSError:
            pass


def _serializer(uri: str, stop: threading.Event) -> None:
    small = peers.message(protocol.MSG_CONNECT, b"[" * 13, serializer=peers.MARSHAL)
    deep = peers.message(protocol.MSG_CONNECT, b"[" * 200_000 + b"]" * 200_000, serializer=peers.JSON)
    _repeat(lambda: (peers.send(uri, small), peers.send(uri, deep)), stop)


def _compression(uri: str, stop: threading.Event) -> None:
    bomb = peers.message(protocol.MSG_CONNECT, zlib.compress(b"\0" * 256 * 2**20, 9),
                         flags=protocol.FLAGS_COMPRESSED)
    _repeat(lambda: peers.send(uri, bomb), stop)


def _idle(uri: str, stop: threading.Event) -> None:
    held = peers.hold_open(uri, IDLE_SOCKETS // 2)
    while not stop.is_set():
        closed = peers.closed_by_peer(held, timeout=0)
        for sock in closed:
            held.remove(sock)
            sock.close()
        held += peers.hold_open(uri, len(closed))
        stop.wait(0.2)
    for sock in held:
        sock.close()
