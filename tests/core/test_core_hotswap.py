"""Hot-swap under load: nothing fails, nothing runs twice, state moves (real Pyro5 processes)."""
import functools
import threading
import time

import pytest

from caruso_core.testing import eventually
from caruso_core.testing.commands import caruso

REFERENCE = "sample_services:Counter"


class Load:
    """Four client threads calling increment(token) through one shared proxy."""

    def __init__(self, proxy, prefix, threads=4):
        self.proxy = proxy
        self.prefix = prefix
        self.stop = threading.Event()
        self.results = []          # (token, started_at, answer)
        self.errors = []
        self.threads = [threading.Thread(target=self._work, args=(n,)) for n in range(threads)]

    def _work(self, number):
        count = 0
        while not self.stop.is_set():
            token = f"{self.prefix}{number}-{count}"
            count += 1
            started = time.monotonic()
            try:
                self.results.append((token, started, self.proxy.increment(token)))
            except Exception as error:  # any failure at all is what this test must not see
                self.errors.append(repr(error))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def calls_after(self, moment):
        return [answer for _, started, answer in self.results if started > moment]


def wait_for_calls(load, count):
    eventually(lambda: len(load.results), lambda made: made >= count, limit=60, what=f"{count} calls")


def _registered(host):
    """Wait until the host in a thread has registered with the manager."""
    eventually(lambda: host.instance_id, limit=30, what="the host's registration")


def _journal(path, expected):
    """Wait for the journal at ``path`` to read ``expected`` (a deactivated host refuses calls
    first and then tells its instance, which writes to the journal)."""
    eventually(lambda: path.read_text().split(), lambda lines: lines == expected, limit=30,
               what=f"the journal reading {expected}")


def _settled(host):
    """The state of the host's gate once it no longer holds calls."""
    from caruso_core.gate import HOLDING

    return eventually(lambda: host.gate.state, lambda state: state != HOLDING, limit=30,
                      what="the gate leaving HOLDING")


def test_replace_then_swap_back_loses_nothing(caruso_host, caruso_client, caruso_manager):
    v1 = caruso_host(REFERENCE, config={"label": "v1"}, process=True)
    proxy = caruso_client.get("counter")

    with Load(proxy, "a") as load:
        wait_for_calls(load, 200)
        v2 = caruso_host(REFERENCE, version="2.0.0", config={"label": "v2"}, replace=True)
        swapped_at = time.monotonic()
        wait_for_calls(load, len(load.results) + 200)
    assert load.errors == []
    tokens = [token for token, _, _ in load.results]
    executed = proxy.tokens()
    assert sorted(executed) == sorted(tokens)              # every call ran, and ran once
    assert len(set(executed)) == len(executed)
    assert {a["label"] for a in load.calls_after(swapped_at)} == {"v2"}
    assert proxy.increment()["value"] == len(tokens) + 1   # the counter kept its value
    assert v1.process.wait(30) == 0                        # the old host drained and went
    assert [s["instance_id"] for s in caruso_client.services()] == [v2.instance_id]

    back = caruso_host(REFERENCE, config={"label": "v1"}, standby=True)
    before = len(tokens) + 1
    with Load(proxy, "b") as load:
        wait_for_calls(load, 200)
        swap = caruso("swap", "counter", back.instance_id)
        swapped_at = time.monotonic()
        wait_for_calls(load, len(load.results) + 200)
    assert swap.returncode == 0, swap.stderr
    assert f"{back.instance_id} is active (was {v2.instance_id})" in swap.stdout
    assert load.errors == []
    tokens_now = [token for token, _, _ in load.results]
    executed = proxy.tokens()
    assert len(executed) == len(set(executed)) == before - 1 + len(tokens_now)
    assert set(tokens_now) <= set(executed)
    assert {a["label"] for a in load.calls_after(swapped_at)} == {"v1"}
    states = {s["instance_id"]: s["state"] for s in caruso_client.services()}
    assert states == {back.instance_id: "active", v2.instance_id: "standby"}


def _swap(manager, name, to):
    """``caruso swap NAME`` to the instance of host ``to``."""
    done = caruso("swap", name, to.instance_id, env={"CARUSO_MANAGER": manager.uri})
    assert done.returncode == 0, done.stderr


def test_a_hold_left_by_a_dead_manager_is_settled_by_asking_the_manager(caruso_manager, caruso_client,
                                                                       tmp_path):
    from caruso_core.gate import OPEN, REFUSING
    from caruso_core.host import ServiceHost
    from sample_services import Ticker

    journal = tmp_path / "journal.log"
    host = ServiceHost(Ticker, config={"journal": str(journal)}, manager=caruso_manager.uri)
    runner = threading.Thread(target=host.run, daemon=True)
    runner.start()
    _registered(host)
    try:
        host.gate.hold(1)                      # as if the manager held it and died
        host.watch_hold(0.2)
        _settled(host)
        assert host.gate.state == OPEN         # the manager says: still the active instance
        assert journal.read_text().split() == ["cold", "resumed"]   # its work is its own

        caruso_client.manager_call("unregister", host.instance_id, host._lease_token)
        host.gate.hold(1)
        host.watch_hold(0.2)
        _settled(host)
        assert host.gate.state == REFUSING     # no longer registered: never reopen
        _journal(journal, ["cold", "resumed", "deactivated"])   # its work is elsewhere
    finally:
        host.retire_soon(unregister=False)
        runner.join(30)


def test_a_new_instance_the_manager_left_unrecorded_settles_by_asking_the_manager(
        caruso_host, caruso_manager, caruso_client, tmp_path, monkeypatch):
    """The manager died after activating the new instance, before or after recording the swap:
    the new instance holds its calls until it learns which, so two never serve at once."""
    from caruso_core import host as hosting
    from caruso_core.gate import HOLDING, OPEN, REFUSING
    from sample_services import Ticker

    monkeypatch.setattr(hosting, "HOLD_MARGIN", 0.2)
    old_journal, journal = tmp_path / "old.log", tmp_path / "new.log"
    caruso_host("sample_services:Ticker", config={"journal": str(old_journal)})
    host = hosting.ServiceHost(Ticker, config={"journal": str(journal)}, manager=caruso_manager.uri,
                               standby=True)
    runner = threading.Thread(target=host.run, daemon=True)
    runner.start()
    _registered(host)

    try:
        control = hosting.HostControl(host)
        control.activate(host.control_token, {"stateful": True, "state": {"ticks": 7}}, 0.1)
        assert host.gate.state == HOLDING                # imported, not serving until recorded
        assert _settled(host) == REFUSING                # never recorded: the old one stays active
        _journal(journal, ["imported", "deactivated"])

        _swap(caruso_manager, "ticker", host)             # recorded and served
        assert host.gate.state == OPEN and caruso_client.get("ticker").tick() == 1
        host.gate.hold(1)                                 # as if recorded, and the manager died
        host.watch_hold(0.1, taking_over=True)
        assert _settled(host) == OPEN                     # recorded: it serves, nothing to resume
        assert journal.read_text().split() == ["imported", "deactivated", "imported"]
        assert old_journal.read_text().split() == ["cold", "exported", "deactivated"]
    finally:
        host.retire_soon(unregister=False)
        runner.join(30)


def test_the_swapped_out_instance_is_deactivated_and_a_roll_back_activates_it_again(
        caruso_host, caruso_client, caruso_manager, tmp_path):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    old = caruso_host("sample_services:Ticker", config={"journal": str(first)})
    proxy = caruso_client.get("ticker")
    assert proxy.tick() == 1
    new = caruso_host("sample_services:Ticker", config={"journal": str(second)}, standby=True)
    swap = functools.partial(_swap, caruso_manager, "ticker")

    swap(new)
    assert proxy.tick() == 2
    assert first.read_text().split() == ["cold", "exported", "deactivated"]
    assert second.read_text().split() == ["imported"]
    swap(old)                                            # roll back
    assert proxy.tick() == 3
    assert first.read_text().split() == ["cold", "exported", "deactivated", "imported"]
    assert second.read_text().split() == ["imported", "exported", "deactivated"]


def test_an_instance_cold_starts_when_it_becomes_active_without_a_predecessors_state(
        caruso_host, caruso_client, caruso_manager, tmp_path):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    old = caruso_host("sample_services:Ticker", config={"journal": str(first)})
    assert first.read_text().split() == ["cold"]        # a plain start cold-starts before serving
    new = caruso_host("sample_services:Ticker", config={"journal": str(second)}, standby=True)
    assert not second.exists()                           # a standby does not
    swap = functools.partial(_swap, caruso_manager, "ticker")

    swap(new)
    assert second.read_text().split() == ["imported"]    # it imports instead
    new.stop()                                           # the active one leaves; old is a standby
    swap(old)                                            # nothing to take over from
    assert first.read_text().split() == ["cold", "exported", "deactivated", "cold"]
    assert caruso_client.get("ticker").tick() == 1


def test_a_swap_that_fails_resumes_the_old_instance_and_a_swap_to_the_active_one_is_refused(
        caruso_host, caruso_client, caruso_manager, tmp_path):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    old = caruso_host("sample_services:Ticker", config={"journal": str(first)})
    caruso_host("sample_services:Ticker", config={"journal": str(second), "refuse_import": True}, standby=True)
    proxy = caruso_client.get("ticker")
    assert proxy.tick() == 1
    standby = [s for s in caruso_client.services() if s["name"] == "ticker" and s["state"] == "standby"][0]
    failed = caruso("swap", "ticker", standby["instance_id"])
    assert failed.returncode != 0 and "takes over from nobody" in failed.stderr
    assert first.read_text().split() == ["cold", "exported", "resumed"]
    assert proxy.tick() == 2                             # the old instance serves on

    again = caruso("swap", "ticker", old.instance_id)
    assert again.returncode != 0 and "active 'ticker' already" in again.stderr
    assert first.read_text().split() == ["cold", "exported", "resumed"]   # nothing ran again
    assert proxy.tick() == 3


def test_a_failing_cold_start_fails_the_start_and_leaves_the_registry(caruso_host, caruso_client):
    with pytest.raises(RuntimeError) as failed:
        caruso_host("sample_services:Reluctant", process=True)
    assert "cold_start() failed" in str(failed.value) and "no stored work to take up" in str(failed.value)
    assert [s for s in caruso_client.services() if s["name"] == "reluctant"] == []
