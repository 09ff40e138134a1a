"""A solution on three hosts (network namespaces) with two-way TLS, started part by part
with `caruso up --host NAME`: the manager and PostgreSQL on h1, the storage on h2, a
standby storage on h3, clients on h3."""
import json
import subprocess
import sys

import pytest

from caruso_core import credentials, remoting
from caruso_core.children import Child
from caruso_core.testing.commands import caruso
from caruso_core.testing.postgres import Cluster, find_binaries
from caruso_core.testing.processes import child_environment
from caruso_core.testing.waiting import eventually

LEASE = 3.0         # a registration lapses after it: long enough for a process starved on a loaded machine
NOTES = """<?xml version="1.0" encoding="UTF-8"?>
<model name="notes">
  <object name="Note" table="note">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="text" type="string" length="100" required="true"/>
  </object>
</model>
"""
DEPLOYMENT = """
[tls]
ca = "ca/ca.crt"

[hosts.h1]
address = "{h1}"
cert = "certs/h1.crt"
key = "certs/h1.key"

[hosts.h2]
address = "{h2}"
cert = "certs/h2.crt"
key = "certs/h2.key"

[hosts.h3]
address = "{h3}"
cert = "certs/h3.crt"
key = "certs/h3.key"

[manager]
host = "h1"
lease = {lease}

[services.storage]
use = "storage"
host = "h2"
port = 7801
config = {{ model = "notes.xml", db = "{db}", due_every = 0 }}

[services.storage-standby]
use = "storage"
name = "storage"
host = "h3"
standby = true
port = 7801
config = {{ model = "notes.xml", db = "{db}", due_every = 0 }}
"""
# What a client on a host does, given an action and its arguments; it prints one JSON line.
CLIENT = """
import json, sys, time
import Pyro5.errors
from caruso_core import connect, remoting
from caruso_core.errors import CarusoError

action, arguments = sys.argv[1], sys.argv[2:]
if action == "write":
    storage = connect().get("storage")
    print(json.dumps([storage.create("Note", {"text": text})["id"] for text in arguments]))
elif action == "read":
    storage = connect().get("storage")
    print(json.dumps({"texts": sorted(r["text"] for r in storage.query("Note", limit=1000)),
                      "uri": storage.instance["uri"]}))
elif action == "services":
    print(json.dumps([{k: s[k] for k in ("uri", "state", "healthy")} for s in connect().services()
                      if s["name"] == "storage"]))
elif action == "refused":
    said = {}
    for what, call in (("manager", lambda: connect(timeout=1).services()),
                       ("storage", lambda: remoting.proxy(arguments[0]).query("Note"))):
        try:
            call()
            said[what] = "answered"
        except (CarusoError, Pyro5.errors.CommunicationError) as error:
            said[what] = f"refused: {type(error).__name__}: {error}"
    print(json.dumps(said))
elif action == "await-failover":
    client = connect()
    stale = client.get("storage")
    resolved_before = stale.instance["uri"]   # a proxy that knows the storage on h2, not yet connected
    sys.stdin.readline()                      # the link is cut now
    cut, deadline = time.monotonic(), time.monotonic() + float(arguments[1])
    uri = None
    while time.monotonic() < deadline:
        found = client.lookup("storage")
        uri = found[0]["uri"] if found else None
        if uri and arguments[0] in uri:
            break
        time.sleep(0.02)
    texts = [r["text"] for r in stale.query("Note", limit=1000)]   # h2 does not answer: it moves on
    print(json.dumps({"uri": uri, "resolved_before": resolved_before, "stale_now": stale.instance["uri"],
                      "stale_read": len(texts)}))
"""


@pytest.fixture(scope="module")
def solution(caruso_network, tmp_path_factory):
    net = caruso_network
    folder = tmp_path_factory.mktemp("hosts")
    assert caruso("certs", "ca", folder / "ca").exit_code == 0
    assert caruso("certs", "ca", folder / "other-ca", "--name", "another CA").exit_code == 0
    for host in net.hosts:
        made = caruso("certs", "host", host, "--address", net.address(host), "--ca", folder / "ca",
                      "--out", folder / "certs")
        assert made.exit_code == 0, made.output
    assert caruso("certs", "host", "h3", "--address", net.address("h3"), "--ca", folder / "other-ca",
                  "--out", folder / "other-certs").exit_code == 0
    database = Cluster(find_binaries(), address=net.address("h1"), trusted=(f"{net.subnet}.0/24",),
                       launcher=tuple(net.launcher("h1")))
    parts = []
    try:
        (folder / "notes.xml").write_text(NOTES)
        (folder / "caruso.toml").write_text(DEPLOYMENT.format(lease=LEASE, db=database.url,
                                                             **{h: net.address(h) for h in net.hosts}))
        credentials.make_files(folder / "data")
        env = child_environment([], folder / "data", None)
        for host in net.hosts:            # the manager first, then the active storage, then its standby
            part = Child(["up", "--host", host, str(folder / "caruso.toml")], env, launcher=net.launcher(host))
            parts.append(part)
            eventually(lambda: not part.alive or any("caruso is up" in line for line in part.output),
                       limit=120, what=f"the part on {host} starting")
            assert part.alive, "\n".join(part.output)
        yield Solution(net, folder, env, dict(zip(net.hosts, parts)))
    finally:
        for part in reversed(parts):
            part.stop(60)
        database.stop()


class Solution:
    def __init__(self, net, folder, env, parts):
        self.net, self.folder, self.env, self.parts = net, folder, env, parts

    def tls_env(self, ca="ca", certs="certs", host="h3"):
        tls = remoting.Tls(str(self.folder / ca / "ca.crt"), str(self.folder / certs / f"{host}.crt"),
                           str(self.folder / certs / f"{host}.key"))
        return {**self.env, **tls.environment(), "CARUSO_CALL_TIMEOUT": "30",
                "CARUSO_MANAGER": f"PYRO:caruso.manager@{self.net.address('h1')}:7717"}

    def client(self, action, *arguments, env=None, host="h3"):
        done = self.net.run(host, [sys.executable, "-c", CLIENT, action, *arguments], env=env or self.tls_env())
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])


def test_a_client_on_one_host_calls_the_storage_on_another_over_tls(solution):
    ids = solution.client("write", "first", "second")
    answer = solution.client("read")
    assert len(set(ids)) == 2
    assert answer["texts"] == ["first", "second"]
    assert answer["uri"].endswith(f"@{solution.net.address('h2')}:7801")     # the active storage is on h2
    # an operator's command in the deployment's folder on h3 speaks h3's TLS to the manager of the file
    listed = solution.net.run("h3", [sys.executable, "-m", "caruso_core", "services", "--json"], cwd=solution.folder,
                              env={k: v for k, v in solution.env.items() if k != "CARUSO_MANAGER"})
    assert listed.returncode == 0, listed.stderr
    assert {s["name"] for s in json.loads(listed.stdout)} >= {"storage", "supervisor"}


def test_peers_without_a_certificate_of_the_ca_or_without_tls_are_refused(solution):
    storage_uri = solution.client("read")["uri"]
    good = solution.tls_env()
    no_certificate = {k: v for k, v in good.items() if k not in ("PYRO_SSL_CLIENTCERT", "PYRO_SSL_CLIENTKEY")}
    other_ca = {**solution.tls_env(certs="other-certs"), "PYRO_SSL_CACERTS": good["PYRO_SSL_CACERTS"]}
    plain = {k: v for k, v in good.items() if not k.startswith("PYRO_SSL")}
    tries = {name: solution.net.popen("h3", [sys.executable, "-c", CLIENT, "refused", storage_uri], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name, env in (("no certificate", no_certificate), ("another CA", other_ca), ("plain TCP", plain),
                               ("the right certificate", good))}
    said = {name: json.loads(process.communicate(timeout=60)[0].splitlines()[-1]) for name, process in tries.items()}
    assert said["the right certificate"] == {"manager": "answered", "storage": "answered"}
    for name in ("no certificate", "another CA", "plain TCP"):
        assert said[name]["manager"].startswith("refused: ManagerUnreachable"), (name, said[name])
        assert said[name]["storage"].startswith("refused: "), (name, said[name])
    assert solution.client("read")["texts"] == ["first", "second"]      # nothing was written by them


def test_pulling_the_storage_hosts_link_fails_over_to_the_standby_without_losing_writes(solution):
    net = solution.net
    before = solution.client("read")["texts"]
    acknowledged = [f"before the cut {n}" for n in range(5)]
    solution.client("write", *acknowledged)
    watcher = net.popen("h3", [sys.executable, "-c", CLIENT, "await-failover", f"@{net.address('h3')}:",
                               str(2.25 * LEASE)],
                        env={**solution.tls_env(), "CARUSO_CALL_TIMEOUT": "60", "CARUSO_CONNECT_TIMEOUT": "1"},
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        net.pull("h2")
        watcher.stdin.write("cut\n")
        watcher.stdin.flush()
        said = watcher.communicate(timeout=60)
        assert watcher.returncode == 0, said[1]
        seen = json.loads(said[0].splitlines()[-1])
        # the manager's bound: the standby is active at most 2.25 leases after the cut
        assert seen["uri"] is not None and f"@{net.address('h3')}:" in seen["uri"], seen
        # a proxy that had resolved the storage on h2 gives up connecting there within its connect
        # timeout (1 s; its call timeout is 60 s, beyond the client's 15 s) and reads on h3
        assert f"@{net.address('h2')}:" in seen["resolved_before"] and seen["stale_now"] == seen["uri"]
        assert seen["stale_read"] == len(before) + len(acknowledged)
        solution.client("write", "after the cut")
        answer = solution.client("read")
        assert answer["texts"] == sorted([*before, *acknowledged, "after the cut"])
        assert f"@{net.address('h3')}:" in answer["uri"]
    finally:
        watcher.kill()
        net.restore("h2")
    # h2's instance comes back as a healthy standby: the name keeps one active instance, on h3
    back = eventually(lambda: solution.client("services"),
                      lambda found: any(f"@{net.address('h2')}:" in s["uri"] and s["healthy"] for s in found),
                      limit=30, what="h2's storage registered again")
    assert [s["uri"] for s in back if s["state"] == "active"] == [answer["uri"]], solution.parts["h2"].output


def test_an_operator_swaps_the_storage_through_the_supervisor_of_its_host(solution):
    before = solution.client("read")
    host = before["uri"].split("@")[1].split(":")[0]
    swapped = solution.net.run("h1", [sys.executable, "-m", "caruso_core", "swap", "storage"],
                               env={**solution.tls_env(host="h1"), "CARUSO_CALL_TIMEOUT": "120"})  # it starts one
    assert swapped.returncode == 0, swapped.stdout + swapped.stderr
    after = solution.client("read")
    assert after["uri"] != before["uri"] and f"@{host}:" in after["uri"]     # a new instance, on the same host
    assert after["texts"] == before["texts"]
