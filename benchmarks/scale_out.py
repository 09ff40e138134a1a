"""Scale-out: calls between hosts over two-way TLS, and failover when a host's link is cut.

Three hosts on this machine (network namespaces, :mod:`caruso_core.testing.netns`): the
manager on h1, a counter on h2, a standby counter on h3, every process with its host's
certificate. Measured in one run:
- sequential calls from h3 to the counter on h2 through a caruso ServiceProxy vs a raw
  Pyro5 proxy with the same TLS to the same hosted object (target time ratio <= 1.1);
- failover: h2's link pulled, the seconds until the manager hands out the standby on h3
  (target <= 2 x lease).

The measuring clients run inside h3 (``python -m benchmarks.scale_out calls|failover``).
Needs root (namespaces); without, it says so and measures nothing.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._kit import ROOT, repeated, rounds
from caruso_core import credentials, remoting
from caruso_core.certificates import make_ca, make_host
from caruso_core.children import Child
from caruso_core.testing.netns import Network, hosts_network, unavailable
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
        return _measure(net, Path(scratch))


def _measure(net: Network, work: Path) -> dict:
    make_ca(work / "ca")
    tls = {}
    for host in net.hosts:
        make_host(host, [net.address(host)], work / "ca", work / "certs")
        tls[host] = remoting.Tls(str(work / "ca" / "ca.crt"), str(work / "certs" / f"{host}.crt"),
                                 str(work / "certs" / f"{host}.key"))
    credentials.make_files(work / "data")
    manager_uri = f"PYRO:{remoting.MANAGER_OBJECT_ID}@{net.address('h1')}:{remoting.DEFAULT_MANAGER_PORT}"
    env = {**child_environment([str(ROOT)], work / "data", manager_uri), "CARUSO_CALL_TIMEOUT": "5"}

    def start(host: str, arguments: list[str]) -> Child:
        child = Child([*arguments, "--ready-json"], {**env, **tls[host].environment()}, cwd=str(ROOT),
                      launcher=net.launcher(host), stdin_text="{}")
        children.append(child)
        child.wait_ready(START_TIMEOUT)
        return child

    def serve(host: str, *options: str) -> Child:
        return start(host, ["serve", SERVICE, "--manager", manager_uri, "--host", net.address(host),
                            "--config-file", "-", *options])

    children: list[Child] = []
    try:
        start("h1", ["manager", "--uri", manager_uri, "--lease", str(LEASE), "--db",
                     f"sqlite:///{work / 'manager.db'}"])
        active = serve("h2")
        serve("h3", "--standby")
        calls = _in_h3(net, {**env, **tls["h3"].environment()}, ["calls", active.record["uri"]])
        print(f"calls/s h3 -> h2 over TLS  caruso proxy {calls['caruso']:8.0f}   raw Pyro5 proxy {calls['raw']:8.0f}"
              f"   time ratio {calls['ratio']:.3f}  (target <= 1.1)")
        failover = _failover(net, {**env, **tls["h3"].environment()})
        print(f"failover after h2's link is cut: {failover:.2f} s   lease {LEASE:g} s   "
              f"ratio {failover / LEASE:.2f}  (target <= 2)")
    finally:
        net.restore("h2")
        for child in reversed(children):
            child.stop(30)
    return {"measured": True, "caruso_calls_per_s": round(calls["caruso"]), "raw_calls_per_s": round(calls["raw"]),
            "proxy_ratio": round(calls["ratio"], 3), "failover_s": round(failover, 2), "lease_s": LEASE,
            "failover_to_lease_ratio": round(failover / LEASE, 2)}


def _in_h3(net: Network, env: dict[str, str], arguments: list[str]) -> dict:
    done = net.run("h3", [sys.executable, "-m", "benchmarks.scale_out", *arguments], env=env, cwd=str(ROOT),
                   timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the client in h3 failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _failover(net: Network, env: dict[str, str]) -> float:
    """Seconds from pulling h2's link until the manager hands out the instance on h3."""
    watcher = net.popen("h3", [sys.executable, "-m", "benchmarks.scale_out", "failover", f"@{net.address('h3')}:"],
                        env=env, cwd=str(ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert watcher.stdin is not None and watcher.stdout is not None
    if watcher.stdout.readline().strip() != "watching":
        raise RuntimeError("the failover watcher in h3 did not start")
    net.pull("h2")
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


def _watch_failover(marker: str) -> dict:
    """In h3: once told the link is cut, poll the manager until it hands out an instance at ``marker``."""
    from caruso_core import connect

    client = connect()
    client.lookup("counter")           # connected before the cut
    print("watching", flush=True)
    sys.stdin.readline()
    cut = time.monotonic()
    while True:
        found = client.lookup("counter")
        if found and marker in found[0]["uri"]:
            return {"seconds": time.monotonic() - cut}
        if time.monotonic() - cut > 20 * LEASE:
            raise SystemExit(f"no failover within {20 * LEASE:g}s")
        time.sleep(0.01)


if __name__ == "__main__":
    role, argument = sys.argv[1], sys.argv[2]
    print(json.dumps(_calls(argument) if role == "calls" else _watch_failover(argument)), flush=True)
