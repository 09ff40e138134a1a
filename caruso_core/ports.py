"""Free ports on 127.0.0.1 for servers that must be told their port before they start
(a demo's deployment, a test's server), handed out where other processes' sockets bound
to port 0 cannot take them first."""
from __future__ import annotations

import os
import random
import socket
from pathlib import Path


def free_port(span: int = 1, udp: bool = False) -> int:
    """A port ``p`` on 127.0.0.1 such that ``p`` to ``p + span - 1`` are all free now for
    TCP, and for UDP too if ``udp`` (``span=2`` for a front office whose web chat listens on
    the next port).

    Ports are handed out in turn from 10000-19999 (20000 up to the kernel's ephemeral ports
    is left to media relays), so a socket another process binds to port 0 cannot take one
    before the server it is meant for binds it, nor can two calls hand out the same one; under
    pytest-xdist each worker has a slice of its own, and each process starts at a random
    place in its slice (two test runs side by side do not walk the same ports in step).
    Where the ephemeral ports leave no such range, the kernel picks, as for port 0."""
    global _next_port
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)
    low, high = _slice()
    if high - low < max(span, 100):
        return _kernel_port(span, kinds)
    for _ in range(high - low):
        if _next_port is None:
            _next_port = random.SystemRandom().randrange(low, high - span + 1)   # not pytest-randomly's seed
        elif not low <= _next_port <= high - span:
            _next_port = low
        port, _next_port = _next_port, _next_port + span
        if _all_bindable(port, span, kinds):
            return port
    raise RuntimeError(f"no {span} free port(s) on 127.0.0.1 between {low} and {high}")


_next_port: int | None = None


def _slice() -> tuple[int, int]:
    """This process's slice of 10000-19999 (of the ports above the ephemeral range where
    that range reaches below 20000)."""
    try:
        ephemeral = [int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()]
    except (OSError, ValueError):
        ephemeral = [32768, 60999]
    low, high = (10000, 20000) if ephemeral[0] >= 20000 else (ephemeral[1] + 1, 65536)
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % workers
    size = (high - low) // workers
    return low + worker * size, low + (worker + 1) * size


def _kernel_port(span: int, kinds: tuple[int, ...]) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + span <= 65536 and _all_bindable(port, span, kinds):
            return port


def _all_bindable(port: int, span: int, kinds: tuple[int, ...]) -> bool:
    return all(_bindable(port + offset, kind) for offset in range(span) for kind in kinds)


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
