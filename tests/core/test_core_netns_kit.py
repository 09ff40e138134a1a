"""The test kit's hosts in network namespaces: made apart from the root namespace, removed
with everything running in them even when the block fails, leftovers of crashed runs removed."""
import subprocess
import sys

import pytest

from caruso_core.testing import netns

pytestmark = pytest.mark.skipif(netns.unavailable() is not None, reason=str(netns.unavailable()))


def namespaces():
    return set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())


def root_links():
    return subprocess.run(["ip", "-br", "addr"], capture_output=True, text=True, check=True).stdout


def test_a_failing_block_leaves_no_namespace_and_no_process_behind():
    links = root_links()
    with pytest.raises(RuntimeError, match="the block failed"):
        with netns.hosts_network(2) as net:
            made = {net.namespace(host) for host in net.hosts} | {net.bridge_namespace}
            assert made <= namespaces()
            sleeper = net.popen("h1", ["sleep", "300"])
            assert net.run("h2", ["ip", "-br", "addr", "show", "eth0"]).stdout.split()[2] == \
                f"{net.address('h2')}/24"
            raise RuntimeError("the block failed")
    assert sleeper.wait(timeout=30) != 0          # killed with its namespace
    assert not made & namespaces()
    assert root_links() == links                  # the root namespace's links and addresses as they were


def test_a_pulled_link_cuts_the_host_off_until_it_is_restored():
    server = ("import socket, sys\nlistening = socket.create_server((sys.argv[1], 9000))\nprint('up', flush=True)\n"
              "while True:\n    connection, _ = listening.accept()\n    connection.sendall(b'hi')\n    connection.close()\n")
    client = ("import socket, sys\ntry:\n    print(socket.create_connection((sys.argv[1], 9000), timeout=1).recv(2))\n"
              "except OSError as error:\n    print(type(error).__name__)\n")
    with netns.hosts_network(2) as net:
        listening = net.popen("h2", [sys.executable, "-c", server, net.address("h2")], stdout=subprocess.PIPE)
        assert listening.stdout.readline().strip() == "up"

        def reach():
            return net.run("h1", [sys.executable, "-c", client, net.address("h2")]).stdout.strip()

        assert reach() == "b'hi'"
        net.pull("h2")
        assert reach() == "TimeoutError"
        net.restore("h2")
        assert reach() == "b'hi'"


def test_namespaces_of_a_crashed_run_are_removed_and_those_of_a_live_run_kept():
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    crashed, live = f"{netns.PREFIX}-{ended.stdout.strip()}-h1", f"{netns.PREFIX}-{1}-h1"   # pid 1 lives
    for name in (crashed, live):
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        netns.remove_leftovers()
        assert crashed not in namespaces() and live in namespaces()
    finally:
        for name in (crashed, live):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
