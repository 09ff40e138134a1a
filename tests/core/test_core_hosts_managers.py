"""A group of managers placed on two hosts by one deployment file (`[manager] host = ["h1",
"h2"]`), on a PostgreSQL registry on h3, two-way TLS everywhere: when the leader's host is
cut off (no process dies, its connections just go silent), the manager on h2 takes the lead
and clients on h3 that know both managers are answered again; the service on h3 keeps its
registration and its state."""
import json
import sys
from pathlib import Path

import pytest

from caruso_core import credentials
from caruso_core.children import Child
from caruso_core.testing.postgres import Cluster, find_binaries
from caruso_core.testing.processes import child_environment
from caruso_core.testing.waiting import eventually

LEASE = 2.0
DEPLOYMENT = """
[tls]
ca = "ca/ca.crt"
{hosts}
[manager]
host = ["h1", "h2"]
lease = {lease}
db = "{db}"

[services.counter]
use = "sample_services:Counter"
host = "h3"
"""
HOST = """
[hosts.{name}]
address = "{address}"
cert = "certs/{name}.crt"
key = "certs/{name}.key"
"""
# A client on a host: the manager URIs to use, then an action; it prints one JSON line.
CLIENT = """
import json, sys
from caruso_core import connect
from caruso_core.errors import ManagerUnreachable, NoInstance

client = connect(sys.argv[1], timeout=3)
try:
    if sys.argv[2] == "increment":
        print(json.dumps(client.get("counter").increment()["value"]))
    else:
        print(json.dumps(sorted(s["name"] for s in client.services())))
except (ManagerUnreachable, NoInstance) as error:
    print(json.dumps(f"{type(error).__name__}: {error}"))
"""


@pytest.fixture(scope="module")
def group(caruso_network, tmp_path_factory):
    from caruso_core.certificates import make_ca, make_host

    net = caruso_network
    folder = tmp_path_factory.mktemp("managers")
    make_ca(folder / "ca")
    for host in net.hosts:
        make_host(host, [net.address(host)], folder / "ca", folder / "certs")
    database = Cluster(find_binaries(), address=net.address("h3"), trusted=(f"{net.subnet}.0/24",),
                       launcher=tuple(net.launcher("h3")))
    parts = []
    try:
        hosts = "".join(HOST.format(name=h, address=net.address(h)) for h in net.hosts)
        (folder / "caruso.toml").write_text(DEPLOYMENT.format(hosts=hosts, lease=LEASE, db=database.url))
        credentials.make_files(folder / "data")
        env = child_environment([str(Path(__file__).parent)], folder / "data", None)
        for host in net.hosts:                     # h1's manager leads: it starts first
            part = Child(["up", "--host", host, str(folder / "caruso.toml")], env, launcher=net.launcher(host))
            parts.append(part)
            eventually(lambda: not part.alive or any("caruso is up" in line for line in part.output),
                       limit=120, what=f"the part on {host} starting")
            assert part.alive, "\n".join(part.output)
        yield Group(net, folder, env)
    finally:
        net.restore("h1")
        for part in reversed(parts):
            part.stop(60)
        database.stop()


class Group:
    def __init__(self, net, folder, env):
        self.net, self.folder, self.env = net, folder, env
        self.uris = {h: f"PYRO:caruso.manager@{net.address(h)}:7717" for h in ("h1", "h2")}

    def client(self, managers, action):
        """What a client on h3 that knows ``managers`` gets for ``action``."""
        env = {**self.env, "PYRO_SSL": "1", "PYRO_SSL_CACERTS": str(self.folder / "ca" / "ca.crt"),
               "PYRO_SSL_CLIENTCERT": str(self.folder / "certs" / "h3.crt"),
               "PYRO_SSL_CLIENTKEY": str(self.folder / "certs" / "h3.key"), "CARUSO_CONNECT_TIMEOUT": "1",
               "CARUSO_CALL_TIMEOUT": "10"}
        uris = ",".join(self.uris[h] for h in managers)
        done = self.net.run("h3", [sys.executable, "-c", CLIENT, uris, action], env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])


def test_the_manager_on_h2_leads_once_the_leaders_host_is_cut_off(group):
    assert group.client(["h1", "h2"], "increment") == 1
    follower = group.client(["h2"], "services")
    assert follower.startswith("NotLeader") and group.net.address("h1") in follower    # h1 leads, h2 follows
    group.net.pull("h1")
    try:
        services = eventually(lambda: group.client(["h1", "h2"], "services"), lambda said: isinstance(said, list),
                              limit=60, what="a manager answering after h1 is cut off")
        assert "counter" in services
        assert isinstance(group.client(["h2"], "services"), list)       # h2 leads now
        # the counter's host renews with h2 within a lease of asking the silent h1; its state is kept
        assert eventually(lambda: group.client(["h1", "h2"], "increment"), lambda said: isinstance(said, int),
                          limit=30, what="the counter found again") == 2
    finally:
        group.net.restore("h1")
