"""Several hosts on one machine: network namespaces joined by a bridge, for tests and benchmarks.

:func:`hosts_network` (a context manager) and the fixture ``caruso_network`` (one per test
module) make :class:`Network`: ``count`` namespaces ("hosts" ``h1``, ``h2`` ...), each with
``lo`` up and one link ``eth0`` at ``10.231.N.I/24`` (``N`` from this process's id,
``I`` the host's number), joined by a bridge that lives in a namespace of its own. The
root namespace's links and addresses are never touched, and nothing in the namespaces
can reach outside them. A host's link can be pulled (:meth:`Network.pull`: its end in the
bridge goes down, packets to and from the host are lost, connections hang as with a cut
cable: the hosts know each other's link addresses for good, so no neighbour discovery
reports the cut host unreachable) and put back (:meth:`Network.restore`).

On exit, even after a failure, every process still inside the namespaces is killed and
the namespaces are deleted; namespaces of the same prefix left by a run whose process is
gone (it crashed) are removed when the next one starts. Namespaces need root and the
``ip`` command: :func:`unavailable` says why they cannot be made, and the fixture skips
with that reason.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from typing import Any, Iterator, Sequence

import pytest

from caruso_core.testing.waiting import eventually

PREFIX = "caruso-net"
SUBNET = "10.231"
BRIDGE = "br0"
COMMAND_TIMEOUT = 30.0


def _ip(*arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *arguments], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=check)


def unavailable() -> str | None:
    """Why this process cannot make network namespaces, or None if it can."""
    if shutil.which("ip") is None:
        return "network namespaces need the 'ip' command (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root (tests of several hosts run as root only)"
    probe = f"{PREFIX}-{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip() or made.returncode}"
    _ip("netns", "del", probe, check=False)
    return None


class Network:
    """Hosts in namespaces of this process (see the module's contract); build it with
    :func:`hosts_network`, which also removes it."""

    def __init__(self, count: int = 3) -> None:
        if not 1 <= count <= 250:
            raise ValueError(f"{count} hosts: between 1 and 250")
        self.run_id = f"{PREFIX}-{os.getpid()}"
        self.subnet = f"{SUBNET}.{os.getpid() % 250 + 1}"
        self.hosts = [f"h{number}" for number in range(1, count + 1)]
        self.bridge_namespace = f"{self.run_id}-br"
        self._made: list[str] = []

    def build(self) -> None:
        remove_leftovers()
        self._add_namespace(self.bridge_namespace)
        _ip("-n", self.bridge_namespace, "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0")
        _ip("-n", self.bridge_namespace, "link", "set", BRIDGE, "up")
        for number, host in enumerate(self.hosts, start=1):
            namespace = self.namespace(host)
            self._add_namespace(namespace)
            _ip("-n", self.bridge_namespace, "link", "add", self._port(host), "type", "veth",
                "peer", "name", "eth0", "netns", namespace)
            _ip("-n", self.bridge_namespace, "link", "set", self._port(host), "master", BRIDGE, "up")
            _ip("-n", namespace, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("-n", namespace, "link", "set", "eth0", "up")
        self._know_neighbours()

    def _know_neighbours(self) -> None:
        """Give every host the others' link addresses for good (no ARP): a cut host then stays
        silent, as behind a switch, instead of being reported unreachable by the neighbour
        discovery of the hosts that talk to it."""
        link = {host: json.loads(_ip("-n", self.namespace(host), "-j", "link", "show", "eth0").stdout)[0]["address"]
                for host in self.hosts}
        for host in self.hosts:
            for other in self.hosts:
                if other != host:
                    _ip("-n", self.namespace(host), "neigh", "replace", self.address(other), "lladdr", link[other],
                        "dev", "eth0", "nud", "permanent")

    def _add_namespace(self, name: str) -> None:
        _ip("netns", "add", name)
        self._made.append(name)

    def _port(self, host: str) -> str:
        return f"v{self._number(host)}"

    def _number(self, host: str) -> int:
        if host not in self.hosts:
            raise KeyError(f"no host {host!r} (hosts: {', '.join(self.hosts)})")
        return self.hosts.index(host) + 1

    def namespace(self, host: str) -> str:
        """The name of ``host``'s network namespace."""
        self._number(host)
        return f"{self.run_id}-{host}"

    def address(self, host: str) -> str:
        """``host``'s address on the bridge."""
        return f"{self.subnet}.{self._number(host)}"

    def launcher(self, host: str) -> list[str]:
        """The command prefix that runs a command inside ``host`` (for :class:`caruso_core.children.Child`)."""
        return ["ip", "netns", "exec", self.namespace(host)]

    def run(self, host: str, command: Sequence[str], *, timeout: float = 120.0,
            **options: Any) -> subprocess.CompletedProcess[str]:
        """Run ``command`` inside ``host`` to its end; its output as text."""
        return subprocess.run([*self.launcher(host), *command], capture_output=True, text=True,
                              timeout=timeout, **options)

    def popen(self, host: str, command: Sequence[str], **options: Any) -> subprocess.Popen[str]:
        """Start ``command`` inside ``host`` (``subprocess.Popen`` options; text mode)."""
        return subprocess.Popen([*self.launcher(host), *command], text=True, **options)

    def pull(self, host: str) -> None:
        """Cut ``host`` off the others, as a pulled cable does."""
        self._link(host, "down")

    def restore(self, host: str) -> None:
        """Put ``host``'s link back."""
        self._link(host, "up")

    def _link(self, host: str, state: str) -> None:
        _ip("-n", self.bridge_namespace, "link", "set", self._port(host), state)

    def close(self) -> None:
        """Kill what still runs inside the namespaces, then delete them."""
        _remove(self._made)
        self._made = []


def _remove(namespaces: list[str]) -> None:
    for name in namespaces:
        _kill_inside(name)
    for name in namespaces:
        _ip("netns", "del", name, check=False)


def _kill_inside(namespace: str) -> None:
    """SIGTERM every process inside ``namespace``, SIGKILL those still there after 10 s."""
    def inside() -> list[int]:
        found = _ip("netns", "pids", namespace, check=False)
        return [int(pid) for pid in found.stdout.split()] if found.returncode == 0 else []

    for sent in (signal.SIGTERM, signal.SIGKILL):
        for pid in inside():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sent)
        with contextlib.suppress(AssertionError):
            eventually(inside, lambda pids: not pids, limit=10.0, what=f"processes in {namespace} ending")


def remove_leftovers() -> None:
    """Delete namespaces of this prefix whose run's process is gone (it crashed)."""
    listed = _ip("netns", "list", check=False).stdout.split("\n")
    names = [line.split()[0] for line in listed if line.startswith(f"{PREFIX}-")]
    orphans = []
    for name in names:
        pid = name[len(PREFIX) + 1:].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            orphans.append(name)
    _remove(orphans)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def hosts_network(count: int = 3) -> Iterator[Network]:
    """A :class:`Network` of ``count`` hosts, removed on exit (also when building it failed)."""
    network = Network(count)
    try:
        network.build()
        yield network
    finally:
        network.close()


@pytest.fixture(scope="module")
def caruso_network() -> Iterator[Network]:
    """Three hosts ``h1``-``h3`` in network namespaces for the tests of one module."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    with hosts_network(3) as network:
        yield network
