"""Ports handed out before their server starts: servers' ports and media relays' RTP ranges
never meet, two pytest-xdist workers never share a range, and a range in use is passed over."""
from __future__ import annotations

import socket

import pytest

from caruso_core import ports


@pytest.fixture
def fresh_turns(monkeypatch):
    """Each test starts its turns afresh, as a new process does."""
    monkeypatch.setattr(ports, "_next", {})


def _as_worker(monkeypatch, worker: int, workers: int = 5) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{worker}")
    monkeypatch.setattr(ports, "_next", {})


def _overlap(one: tuple[int, int], other: tuple[int, int]) -> bool:
    return one[0] <= other[1] and other[0] <= one[1]


def test_relay_ranges_are_even_below_the_ephemeral_ports_and_never_repeat_in_turn(fresh_turns):
    ephemeral_low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    ranges = [ports.free_port_range(512) for _ in range(12)]
    for first, last in ranges:
        assert first % 2 == 0 and last - first == 511
        assert 20000 <= first and last < ephemeral_low
    for one, following in zip(ranges, ranges[1:]):
        assert not _overlap(one, following)


def test_two_workers_never_share_a_relay_port_nor_a_server_port(monkeypatch):
    handed = {}
    for worker in range(5):
        _as_worker(monkeypatch, worker)
        handed[worker] = ([ports.free_port_range(1024) for _ in range(6)], [ports.free_port() for _ in range(20)])
    for worker, (ranges, servers) in handed.items():
        for other, (other_ranges, other_servers) in handed.items():
            if other != worker:
                assert not any(_overlap(one, two) for one in ranges for two in other_ranges)
                assert not set(servers) & set(other_servers)
        assert all(port < 20000 for port in servers)
        assert all(first >= 20000 for first, _ in ranges)


def test_a_range_with_a_port_a_relay_holds_is_passed_over(fresh_turns):
    """A relay binds its ports with SO_REUSEADDR; the probe, binding without it, sees them."""
    first, last = ports.free_port_range(64)
    ports._next["relays"] = first                       # the same range again, once it is held
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", first + 63))
        again = ports.free_port_range(64)
    assert not _overlap(again, (first, last))


def test_a_slice_too_small_for_the_range_gives_one_from_the_whole_band(monkeypatch):
    """Seven workers: a slice of 1,824 ports holds one range of 1,024 at a time, the next one
    starts it again; sixteen: a slice of 798 holds none, the whole band gives one."""
    ephemeral_low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    _as_worker(monkeypatch, 6, workers=7)
    ranges = [ports.free_port_range(1024) for _ in range(3)]
    low, high = ports._slice(20000, ephemeral_low)
    assert all(low <= first and last < high for first, last in ranges)
    _as_worker(monkeypatch, 3, workers=16)
    first, last = ports.free_port_range(1024)
    assert 20000 <= first and last < ephemeral_low and last - first == 1023


def test_a_port_given_to_a_server_not_listening_yet_is_not_handed_out(fresh_turns):
    """The demo's own ports avoid the manager's and the front office's, which the command
    that started it chose (in the same worker's slice) and which nothing holds yet."""
    first = ports.free_port()
    ports._next["servers"] = first                      # the turn comes round to it again
    assert ports.free_port(avoid=(first, None)) != first
    ports._next["servers"] = first - 1
    assert ports.free_port(span=2, avoid=(first,)) not in (first - 1, first)
