"""Crashes and restarts: leases expire, watchers hear it, clients find what is left."""
import os
import signal
import threading
import time

import pytest

from caruso_core import ManagerUnreachable, NoInstance, connect
from caruso_core import host as host_module
from caruso_core.errors import CallTimedOut
from caruso_core.testing import eventually

LEASE = 1.0
BOUND = 2.25 * LEASE          # documented in caruso_core/manager.py
MARGIN = 10.0                 # a loaded machine schedules late; the bound is what must hold eventually


@pytest.fixture
def caruso_lease():
    return LEASE


def watch_for(client, instance_id, kind, found, since):
    for event in client.watch(since):
        if event["instance_id"] == instance_id and event["event"] == kind:
            found.append(time.monotonic())
            return


def test_killed_host_expires_watchers_hear_it_and_get_says_no_instance(caruso_host, caruso_client):
    host = caruso_host("sample_services:Echo", process=True)
    proxy = caruso_client.get("echo")
    assert proxy.echo(1) == {"tag": "plain", "value": 1}
    expired = []
    now = caruso_client.manager_call("events", None, 0)["next"]      # the watch starts from here
    watcher = threading.Thread(target=watch_for, args=(caruso_client, host.instance_id, "expired", expired, now),
                               daemon=True)
    watcher.start()
    killed_at = time.monotonic()
    host.kill()
    watcher.join(BOUND + MARGIN)
    assert expired, "no 'expired' event"
    assert expired[0] - killed_at < BOUND + MARGIN
    with pytest.raises(NoInstance, match="no instance of 'echo' is registered"):
        proxy.echo(2)


def test_killed_host_is_replaced_by_another_instance_of_the_interface(caruso_host, caruso_client):
    best = caruso_host("sample_services:Echo", config={"tag": "best"}, properties={"ranking": 10}, process=True)
    caruso_host("sample_services:Echo", config={"tag": "spare"})
    proxy = caruso_client.get("test.echo/1")
    assert proxy.echo(1)["tag"] == "best"
    best.kill()
    assert proxy.echo(2) == {"tag": "spare", "value": 2}


def test_manager_restart_keeps_registrations_and_clients_working(caruso_host, caruso_client, caruso_manager):
    host = caruso_host("sample_services:Counter")
    proxy = caruso_client.get("counter")
    assert proxy.increment()["value"] == 1
    caruso_manager.restart()
    assert proxy.increment()["value"] == 2                        # the cached location still works
    time.sleep(1.5 * LEASE)      # a host that did not renew would be unhealthy by now (nothing to wait for)
    listed = {s["instance_id"]: s for s in caruso_client.services()}
    assert listed[host.instance_id]["healthy"] is True
    from caruso_core import connect
    assert connect(caruso_manager.uri).get("counter").increment()["value"] == 3


def test_a_watch_outlives_a_manager_restart(caruso_host, caruso_client, caruso_manager):
    host = caruso_host("sample_services:Echo", process=True)
    seen = []

    now = caruso_client.manager_call("events", None, 0)["next"]

    def follow():
        for event in caruso_client.watch(now):
            seen.append((event["event"], event["instance_id"]))
            if event["event"] == "expired":
                return

    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    caruso_manager.restart()
    host.kill()
    watcher.join(BOUND + MARGIN + 10)
    assert ("expired", host.instance_id) in seen


def test_a_watch_says_when_the_manager_stops_answering_and_when_it_answers_again(caruso_host, caruso_client,
                                                                                 caruso_manager):
    heard, seen = [], []

    def follow():
        for event in caruso_client.watch(unreachable=heard.append):
            seen.append(event)
            return
    watcher = threading.Thread(target=follow, daemon=True)
    watcher.start()
    caruso_manager.stop()
    [lost] = eventually(lambda: list(heard), what="the watch hearing the manager gone")
    assert isinstance(lost, ManagerUnreachable) and caruso_manager.uri.split("@")[1] in str(lost)
    caruso_manager.restart()
    eventually(lambda: heard[1:], lambda later: later == [None], what="the watch hearing the manager back")
    host = caruso_host("sample_services:Echo")
    watcher.join(BOUND + MARGIN)
    assert [event["instance_id"] for event in seen] == [host.instance_id]          # and the watch goes on


def _states(client):
    return {row["instance_id"]: row["state"] for row in client.services()}


def _gate(client, instance_id):
    return next(row["health"].get("gate") for row in client.health() if row["instance_id"] == instance_id)


def test_a_standby_takes_over_when_the_active_stops_renewing_and_the_old_one_stands_down(caruso_host,
                                                                                          caruso_client):
    first = caruso_host("sample_services:Counter", config={"label": "first"}, process=True)
    second = caruso_host("sample_services:Counter", config={"label": "second"}, standby=True, process=True)
    proxy = caruso_client.get("counter")
    assert proxy.increment() == {"value": 1, "label": "first"}
    os.kill(first.process.pid, signal.SIGSTOP)                  # alive, but renews nothing and answers nothing
    try:
        eventually(lambda: _states(caruso_client), lambda states: states == {
            first.instance_id: "standby", second.instance_id: "active"}, what="the failover")
        # a client resolving now gets the new active instance (a proxy that holds the hung
        # one's connection would wait for its call timeout: see docs/operators.md)
        proxy = caruso_client.get("counter")
        assert proxy.increment() == {"value": 1, "label": "second"}   # a cold start: the first's count is gone
    finally:
        os.kill(first.process.pid, signal.SIGCONT)
    eventually(lambda: _gate(caruso_client, first.instance_id), lambda gate: gate == "refusing",
               what="the old active standing down")
    assert [row["instance_id"] for row in caruso_client.lookup("counter")] == [second.instance_id]
    assert proxy.increment() == {"value": 2, "label": "second"}


def test_a_proxy_whose_call_timed_out_asks_the_manager_again(caruso_host, caruso_manager, caruso_client):
    """A proxy held across a failover (as the front office holds its proxies) reaches the new
    active instance after one call timed out on the hung one: the connection that call used is
    dropped, and the hung instance answers no handshake on a new one, so the proxy asks the
    manager again."""
    first = caruso_host("sample_services:Counter", config={"label": "first"}, process=True)
    second = caruso_host("sample_services:Counter", config={"label": "second"}, standby=True, process=True)
    held = connect(caruso_manager.uri, call_timeout=1).get("counter")
    assert held.increment() == {"value": 1, "label": "first"}
    os.kill(first.process.pid, signal.SIGSTOP)
    try:
        eventually(lambda: _states(caruso_client), lambda states: states == {
            first.instance_id: "standby", second.instance_id: "active"}, what="the failover")
        with pytest.raises(CallTimedOut, match="may or may not have run"):
            held.increment()                                      # the hung instance it knew
        assert held.increment() == {"value": 1, "label": "second"}
    finally:
        os.kill(first.process.pid, signal.SIGCONT)


def test_an_active_without_a_standby_is_not_failed_over_and_comes_back(caruso_host, caruso_client):
    only = caruso_host("sample_services:Counter", process=True)
    proxy = caruso_client.get("counter")
    assert proxy.increment()["value"] == 1
    os.kill(only.process.pid, signal.SIGSTOP)
    eventually(lambda: caruso_client.services(), lambda rows: not rows[0]["healthy"], what="unhealthy")
    os.kill(only.process.pid, signal.SIGCONT)
    assert proxy.increment()["value"] == 2                        # the same instance, its state kept
    assert _states(caruso_client) == {only.instance_id: "active"}


def test_a_lookup_asks_the_next_manager_when_one_goes_silent_within_the_connect_timeout(
        caruso_host, caruso_client, monkeypatch):
    """A leader whose host was cut off keeps its connections open and answers nothing: a
    client given several managers waits the connect timeout (1 s here) for a lookup's or a
    listing's answer, not the call timeout (60 s here), before it asks the next manager."""
    from caruso_core import connect
    from caruso_core.testing import peers

    monkeypatch.setenv("CARUSO_CONNECT_TIMEOUT", "1")
    caruso_host("sample_services:Counter")
    silent = peers.impostor([peers.connect_ok(["list", "lookup"])], "caruso.manager")
    client = connect(f"{silent},{caruso_client.uri}", timeout=5, call_timeout=60)
    started = time.monotonic()
    assert [s["name"] for s in client.services()] == ["counter"]
    assert time.monotonic() - started < 30        # the silent manager alone would hold it 60 s
    assert client.get("counter").increment()["value"] == 1    # its lookup goes to the manager that answered


def test_a_renewal_refused_while_the_host_unregisters_does_not_register_it_again(caruso_host, caruso_client,
                                                                                 monkeypatch):
    """A renewal in flight when the host stops is answered "unknown" once the unregister lands;
    the host must not take that as a lost lease and register again (a stopped host would then
    stay listed, and a swap would try to reach it)."""
    holding, renewing, unregistered = threading.Event(), threading.Event(), threading.Event()

    class HeldRenewals(host_module.Client):
        def manager_call(self, name, *args):
            if name == "renew" and holding.is_set():
                renewing.set()
                unregistered.wait(10)
            answer = super().manager_call(name, *args)
            if name == "unregister":
                unregistered.set()
            return answer

    monkeypatch.setattr(host_module, "Client", HeldRenewals)
    before = set(threading.enumerate())
    host = caruso_host("sample_services:Echo")
    renewer = [t for t in threading.enumerate() if t not in before and t.name == "caruso-renew"]
    holding.set()
    assert renewing.wait(10)                        # a renewal is on its way to the manager
    host.stop()
    renewer[0].join(10)
    assert not renewer[0].is_alive()
    assert host.instance_id not in [s["instance_id"] for s in caruso_client.services()]
