"""Core: the cost of caruso's proxy, manager lookups, and a hot-swap, against raw Pyro5.

Measured in one run on 127.0.0.1:
- sequential calls through a caruso ServiceProxy vs a raw Pyro5 proxy to the same
  hosted object (target ratio <= 1.05), and vs a plain Pyro5 object without a gate;
- manager lookups per second vs Pyro5 name server lookups;
- the longest call latency while the service is hot-swapped vs the steady-state p99.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import Pyro5.api
import Pyro5.nameserver

from caruso_core import connect, remoting
from caruso_core.testing.processes import HostProcess, ManagerProcess, child_environment

CALLS = 1000
ROUNDS = 21
LOOKUPS = 2000
SERVICE = "benchmarks._services:Counter"


def _seconds(call, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        call()
    return time.perf_counter() - started


def _compare(calls: dict, reference: str) -> tuple[dict, dict]:
    """Rates (calls/s, median over rounds) and time ratios against ``reference``.

    Each round runs every contender back to back in a rotating order; a ratio is taken
    within each round and the median over rounds is reported, so that load from other
    processes, which drifts slowly, cancels out.
    """
    for call in calls.values():
        _seconds(call, CALLS // 10)
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(ROUNDS):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_seconds(calls[name], CALLS))
    rates = {name: CALLS / statistics.median(times[name]) for name in names}
    ratios = {name: statistics.median(t / r for t, r in zip(times[name], times[reference]))
              for name in names if name != reference}
    return rates, ratios


def run() -> dict:
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        env = child_environment([str(root)], work / "data", None)
        manager = ManagerProcess(work, lease=10.0, env=env)
        env["CARUSO_MANAGER"] = manager.uri
        hosts = [HostProcess(SERVICE, manager, env, str(root))]
        try:
            return _measure(manager, hosts, env, str(root))
        finally:
            for host in reversed(hosts):
                host.stop()
            manager.stop()


def _measure(manager: ManagerProcess, hosts: list, env: dict, root: str) -> dict:
    client = connect(manager.uri)
    caruso_proxy = client.get("counter")
    raw_proxy = remoting.proxy(hosts[0].uri)
    plain = subprocess.Popen([sys.executable, "-m", "benchmarks._services"], cwd=root, env=env,
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

    ns_daemon = Pyro5.nameserver.NameServerDaemon("127.0.0.1", 0)
    threading.Thread(target=ns_daemon.requestLoop, daemon=True).start()
    ns_uri = ns_daemon.uriFor(ns_daemon.nameserver)
    Pyro5.api.Proxy(ns_uri).register("counter", hosts[0].uri)
    ns_proxy = Pyro5.api.Proxy(ns_uri)
    lookup_rates, lookup_ratios = _compare({"ns": lambda: ns_proxy.lookup("counter"),
                                            "manager": lambda: client.lookup("counter")}, "ns")
    print(f"lookups/s  manager {lookup_rates['manager']:9.0f}   Pyro5 name server {lookup_rates['ns']:9.0f}"
          f"   time ratio {lookup_ratios['manager']:.3f}")

    steady, during, failed = _swap_latencies(caruso_proxy, manager, hosts, env, root)
    p99 = statistics.quantiles(steady, n=100)[98]
    longest = max(during)
    print(f"latency  steady p99 {p99 * 1e3:.3f} ms   longest during hot-swap {longest * 1e3:.1f} ms"
          f"   ratio {longest / p99:.0f}   ({len(during)} calls during the swap, {failed} failed)")

    plain.terminate()
    plain.wait()
    ns_daemon.shutdown()
    return {"caruso_calls_per_s": round(rates["caruso"]), "raw_calls_per_s": round(rates["raw"]),
            "plain_calls_per_s": round(rates["plain"]), "proxy_overhead_ratio": round(proxy_ratio, 3),
            "end_to_end_ratio": round(end_to_end, 3),
            "manager_lookups_per_s": round(lookup_rates["manager"]),
            "nameserver_lookups_per_s": round(lookup_rates["ns"]),
            "lookup_ratio": round(lookup_ratios["manager"], 3),
            "steady_p99_ms": round(p99 * 1e3, 3), "swap_longest_ms": round(longest * 1e3, 1),
            "swap_to_p99_ratio": round(longest / p99), "swap_failed_calls": failed}


def _swap_latencies(proxy, manager: ManagerProcess, hosts: list, env: dict, root: str):
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
    hosts.append(HostProcess(SERVICE, manager, env, root, replace=True))
    time.sleep(0.2)
    done.set()
    caller.join()
    return steady, during, len(failures)
