"""Core: the cost of caruso's proxy, manager lookups, and a hot-swap, against raw Pyro5.

Measured in one run on 127.0.0.1:
- sequential calls through a caruso ServiceProxy vs a raw Pyro5 proxy to the same
  hosted object (target ratio <= 1.05), and vs a plain Pyro5 object without a gate;
- manager lookups per second vs Pyro5 name server lookups (both in processes of their own);
- the longest call latency while the service is hot-swapped vs the steady-state p99.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time

import Pyro5.api
import Pyro5.errors

from benchmarks._kit import ROOT, Solution, repeated, rounds, solution
from caruso_core import remoting
from caruso_core.testing.processes import free_port

CALLS = 1000
ROUNDS = 21
LOOKUPS = 2000
SERVICE = "benchmarks._services:Counter"


def run() -> dict:
    with solution() as running:
        return _measure(running)


def _compare(calls: dict, reference: str) -> tuple[dict, dict]:
    """Calls per second (median round) and median per-round time ratios against ``reference``."""
    for call in calls.values():
        repeated(call, CALLS // 10)()
    seconds, ratios = rounds({name: [repeated(call, CALLS)] * ROUNDS for name, call in calls.items()}, reference)
    return {name: CALLS / value for name, value in seconds.items()}, ratios


def _measure(running: Solution) -> dict:
    client = running.client
    first = running.host(SERVICE)
    caruso_proxy = client.get("counter")
    raw_proxy = remoting.proxy(first.uri)
    plain = subprocess.Popen([sys.executable, "-m", "benchmarks._services"], cwd=ROOT, env=running.env,
                             stdout=subprocess.PIPE, text=True)
    plain_proxy = remoting.proxy(plain.stdout.readline().strip())

    rates, ratios = _compare({"raw": raw_proxy.increment, "caruso": caruso_proxy.increment,
                              "plain": plain_proxy.increment}, "raw")
    proxy_ratio = ratios["caruso"]
    end_to_end = proxy_ratio / ratios["plain"]
    print(f"calls/s  caruso proxy {rates['caruso']:9.0f}   raw Pyro5 proxy, same object {rates['raw']:9.0f}"
          f"   time ratio {proxy_ratio:.3f}  (target <= 1.05)")
    print(f"calls/s  bare Pyro5 object, no host or gate {rates['plain']:9.0f}   "
          f"caruso end to end time ratio {end_to_end:.3f}")

    ns_port = free_port()
    name_server = subprocess.Popen([sys.executable, "-m", "Pyro5.nameserver", "-n", "127.0.0.1", "-p", str(ns_port)],
                                   env=running.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ns_uri = f"PYRO:Pyro.NameServer@127.0.0.1:{ns_port}"
    _register_when_up(ns_uri, first.uri)
    ns_proxy = Pyro5.api.Proxy(ns_uri)
    lookup_rates, lookup_ratios = _compare({"ns": lambda: ns_proxy.lookup("counter"),
                                            "manager": lambda: client.lookup("counter")}, "ns")
    print(f"lookups/s  manager {lookup_rates['manager']:9.0f}   Pyro5 name server {lookup_rates['ns']:9.0f}"
          f"   time ratio {lookup_ratios['manager']:.3f}")

    steady, during, failed = _swap_latencies(caruso_proxy, running)
    p99 = statistics.quantiles(steady, n=100)[98]
    longest = max(during)
    print(f"latency  steady p99 {p99 * 1e3:.3f} ms   longest during hot-swap {longest * 1e3:.1f} ms"
          f"   ratio {longest / p99:.0f}   ({len(during)} calls during the swap, {failed} failed)")

    plain.terminate()
    plain.wait()
    name_server.terminate()
    name_server.wait()
    return {"caruso_calls_per_s": round(rates["caruso"]), "raw_calls_per_s": round(rates["raw"]),
            "plain_calls_per_s": round(rates["plain"]), "proxy_overhead_ratio": round(proxy_ratio, 3),
            "end_to_end_ratio": round(end_to_end, 3),
            "manager_lookups_per_s": round(lookup_rates["manager"]),
            "nameserver_lookups_per_s": round(lookup_rates["ns"]),
            "lookup_ratio": round(lookup_ratios["manager"], 3),
            "steady_p99_ms": round(p99 * 1e3, 3), "swap_longest_ms": round(longest * 1e3, 1),
            "swap_to_p99_ratio": round(longest / p99), "swap_failed_calls": failed}


def _register_when_up(ns_uri: str, uri: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with Pyro5.api.Proxy(ns_uri) as name_server:
                name_server.register("counter", uri)
                return
        except Pyro5.errors.CommunicationError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _swap_latencies(proxy, running: Solution):
    steady = []
    for _ in range(CALLS):
        started = time.perf_counter()
        proxy.increment()
        steady.append(time.perf_counter() - started)
    during: list[float] = []
    failures: list[Exception] = []
    swapping = threading.Event()
    done = threading.Event()

    def call_through() -> None:
        while not done.is_set():
            started = time.perf_counter()
            try:
                proxy.increment()
            except Exception as error:  # counted and reported: the figure is "failed calls"
                failures.append(error)
            if swapping.is_set():
                during.append(time.perf_counter() - started)

    caller = threading.Thread(target=call_through)
    caller.start()
    swapping.set()
    running.host(SERVICE, replace=True)
    time.sleep(0.2)
    done.set()
    caller.join()
    return steady, during, len(failures)
