"""Scale-out: calls between hosts over two-way TLS, and failover when a host's link is cut.

Three hosts on this machine (network namespaces, :mod:`caruso_core.testing.netns`): the
manager on h1, a counter on h2, a standby counter on h3, every process with its host's
certificate. Measured in one run:
- sequential calls from h3 to the counter on h2 through a caruso ServiceProxy vs a raw
  Pyro5 proxy with the same TLS to the same hosted object (target time ratio <= 1.1);
- failover: h2's link pulled, the seconds until the manager hands out the standby on h3
  (target <= 2 x lease);
- manager takeover: a group of two managers (h1 leading, h2 following) on a PostgreSQL
  registry on h3; h1's link pulled (nothing dies, its connections go silent), the seconds
  until h2 answers as the leader (PostgreSQL must first find the leader's session dead by
  its keepalives).

The measuring clients run inside h3 (``python -m benchmarks.scale_out calls|failover|takeover``).
Needs root (namespaces); without, it says so and measures nothing.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from benchmarks._kit import ROOT, repeated, rounds
from caruso_core import credentials, remoting
from caruso_core.certificates import make_ca, make_host
from caruso_core.children import Child
from caruso_core.testing.netns import Network, hosts_network, unavailable
from caruso_core.testing.postgres import Cluster, find_binaries
from caruso_core.testing.processes import child_environment

SERVICE = "benchmarks._services:Counter"
LEASE = 2.0
CALLS = 500
ROUNDS = 15
START_TIMEOUT = 60.0


def run() -> dict:
    reason = unavailable()
    if reason is not None:
        print(f"scale-out not measured: {reason}")
        return {"measured": False, "reason": reason}
    with tempfile.TemporaryDirectory() as scratch, hosts_network(3) as net:
        services = _services(Hosts(net, Path(scratch)))
    with tempfile.TemporaryDirectory() as scratch, hosts_network(3) as net:
        takeover = _takeover(Hosts(net, Path(scratch)))
    return {"measured": True, **services, "takeover_s": round(takeover, 2)}


class Hosts:
    """The processes of one measurement on three hosts: certificates, secrets, children."""

    def __init__(self, net: Network, work: Path) -> None:
        self.net, self.work = net, work
        make_ca(work / "ca")
        self.tls = {}
        for host in net.hosts:
            make_host(host, [net.address(host)], work / "ca", work / "certs")
            self.tls[host] = remoting.Tls(str(work / "ca" / "ca.crt"), str(work / "certs" / f"{host}.crt"),
                                          str(work / "certs" / f"{host}.key"))
        credentials.make_files(work / "data")
        self.manager = {host: f"PYRO:{remoting.MANAGER_OBJECT_ID}@{net.address(host)}:{remoting.DEFAULT_MANAGER_PORT}"
                        for host in net.hosts}
        self.env = {**child_environment([str(ROOT)], work / "data", self.manager["h1"]), "CARUSO_CALL_TIMEOUT": "5"}
        self.children: list[Child] = []

    def environment(self, host: str) -> dict[str, str]:
        return {**self.env, **self.tls[host].environment()}

    def start(self, host: str, arguments: list[str]) -> Child:
        child = Child([*arguments, "--ready-json"], self.environment(host), cwd=str(ROOT),
                      launcher=self.net.launcher(host), stdin_text="{}")
        self.children.append(child)
        child.wait_ready(START_TIMEOUT)
        return child

    def stop(self) -> None:
        for host in self.net.hosts:
            self.net.restore(host)
        for child in reversed(self.children):
            child.stop(30)


def _services(hosts: Hosts) -> dict:
    net = hosts.net

    def serve(host: str, *options: str) -> Child:
        return hosts.start(host, ["serve", SERVICE, "--manager", hosts.manager["h1"], "--host", net.address(host),
                                  "--config-file", "-", *options])

    try:
        hosts.start("h1", ["manager", "--uri", hosts.manager["h1"], "--lease", str(LEASE), "--db",
                           f"sqlite:///{hosts.work / 'manager.db'}"])
        active = serve("h2")
        serve("h3", "--standby")
        calls = _in_h3(net, hosts.environment("h3"), ["calls", active.record["uri"]])
        print(f"calls/s h3 -> h2 over TLS  caruso proxy {calls['caruso']:8.0f}   raw Pyro5 proxy {calls['raw']:8.0f}"
              f"   time ratio {calls['ratio']:.3f}  (target <= 1.1)")
        failover = _after_cut(net, "h2", hosts.environment("h3"), ["failover", f"@{net.address('h3')}:"])
        print(f"failover after h2's link is cut: {failover:.2f} s   lease {LEASE:g} s   "
              f"ratio {failover / LEASE:.2f}  (target <= 2)")
    finally:
        hosts.stop()
    return {"caruso_calls_per_s": round(calls["caruso"]), "raw_calls_per_s": round(calls["raw"]),
            "proxy_ratio": round(calls["ratio"], 3), "failover_s": round(failover, 2), "lease_s": LEASE,
            "failover_to_lease_ratio": round(failover / LEASE, 2)}


def _takeover(hosts: Hosts) -> float:
    net = hosts.net
    database = Cluster(find_binaries(), address=net.address("h3"), trusted=(f"{net.subnet}.0/24",),
                       launcher=tuple(net.launcher("h3")))
    try:
        for host in ("h1", "h2"):           # h1 leads: it starts first
            hosts.start(host, ["manager", "--uri", hosts.manager[host], "--lease", str(LEASE), "--db", database.url])
        takeover = _after_cut(net, "h1", hosts.environment("h3"), ["takeover", hosts.manager["h2"]])
        print(f"manager takeover after the leader's host h1 is cut: {takeover:.2f} s   lease {LEASE:g} s "
              "(PostgreSQL's keepalives find the leader's session dead, then the follower leads)")
    finally:
        hosts.stop()
        database.stop()
    return takeover


def _in_h3(net: Network, env: dict[str, str], arguments: list[str]) -> dict:
    done = net.run("h3", [sys.executable, "-m", "benchmarks.scale_out", *arguments], env=env, cwd=str(ROOT),
                   timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the client in h3 failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _after_cut(net: Network, host: str, env: dict[str, str], watch: list[str]) -> float:
    """Seconds from pulling ``host``'s link until the watcher in h3 (``watch``: its role and
    argument) sees what it waits for."""
    watcher = net.popen("h3", [sys.executable, "-m", "benchmarks.scale_out", *watch],
                        env=env, cwd=str(ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert watcher.stdin is not None and watcher.stdout is not None
    if watcher.stdout.readline().strip() != "watching":
        raise RuntimeError(f"the {watch[0]} watcher in h3 did not start")
    net.pull(host)
    watcher.stdin.write("cut\n")
    watcher.stdin.flush()
    seen = json.loads(watcher.stdout.readline())
    watcher.wait(30)
    return seen["seconds"]


def _calls(uri: str) -> dict:
    """In h3: calls per second through a caruso proxy and a raw Pyro5 proxy to ``uri``."""
    from caruso_core import connect

    caruso_proxy = connect().get("counter")
    raw_proxy = remoting.proxy(uri)
    contenders = {"raw": raw_proxy.increment, "caruso": caruso_proxy.increment}
    for call in contenders.values():
        repeated(call, CALLS // 10)()
    seconds, ratios = rounds({name: [repeated(call, CALLS)] * ROUNDS for name, call in contenders.items()}, "raw")
    return {"caruso": CALLS / seconds["caruso"], "raw": CALLS / seconds["raw"], "ratio": ratios["caruso"]}


def _watch(seen: Callable[[], bool]) -> dict:
    """In h3: once told the link is cut, the seconds until ``seen()`` (asked every 10 ms)."""
    seen()                             # connected before the cut
    print("watching", flush=True)
    sys.stdin.readline()
    cut = time.monotonic()
    while not seen():
        if time.monotonic() - cut > 20 * LEASE:
            raise SystemExit(f"not seen within {20 * LEASE:g}s of the cut")
        time.sleep(0.01)
    return {"seconds": time.monotonic() - cut}


def _failed_over(marker: str) -> Callable[[], bool]:
    """Whether the manager hands out the counter at ``marker`` (an address)."""
    from caruso_core import connect

    client = connect()
    return lambda: any(marker in found["uri"] for found in client.lookup("counter")[:1])


def _leads(uri: str) -> Callable[[], bool]:
    """Whether the manager at ``uri`` answers (a follower refuses with NotLeader)."""
    from caruso_core import ManagerUnreachable, connect

    client = connect(uri)

    def answers() -> bool:
        try:
            client.services()
        except ManagerUnreachable:
            return False
        return True
    return answers


if __name__ == "__main__":
    role, argument = sys.argv[1], sys.argv[2]
    if role == "calls":
        print(json.dumps(_calls(argument)), flush=True)
    else:
        print(json.dumps(_watch(_failed_over(argument) if role == "failover" else _leads(argument))), flush=True)
