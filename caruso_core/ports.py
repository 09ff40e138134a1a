"""Free ports on 127.0.0.1 for servers that must be told their port before they start
(a demo's deployment, a test's server, a media relay's RTP range), handed out where other
processes' sockets bound to port 0 cannot take them first."""
from __future__ import annotations

import os
import random
import socket
from pathlib import Path
from typing import Callable, Iterable


def free_port(span: int = 1, udp: bool = False, avoid: Iterable[int | None] = ()) -> int:
    """A port ``p`` on 127.0.0.1 such that ``p`` to ``p + span - 1`` are all free now for
    TCP, and for UDP too if ``udp`` (``span=2`` for a front office whose web chat listens on
    the next port), and none of them is in ``avoid``: ports given to servers that do not
    listen yet (another process, e.g. the test that started this one, may have chosen them).

    Ports are handed out in turn from 10000-19999 (20000 up to the kernel's ephemeral ports
    is left to media relays: :func:`free_port_range`), so a socket another process binds to
    port 0 cannot take one before the server it is meant for binds it, nor can two calls hand
    out the same one; under pytest-xdist each worker has a slice of its own, and each process
    starts at a random place in its slice (two test runs side by side do not walk the same
    ports in step). Where the ephemeral ports leave no such range, the kernel picks, as for
    port 0."""
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)
    taken = set(avoid)

    def usable(port: int) -> bool:
        return (port + span <= 65536 and taken.isdisjoint(range(port, port + span))
                and _all_bindable(port, span, kinds))

    low, high = _slice(*_bands()[0])
    if high - low < max(span, 100):
        return _kernel_port(usable)
    return _in_turn("servers", low, high, span, 1, usable)


def free_port_range(size: int) -> tuple[int, int]:
    """``(first, last)``: ``size`` UDP ports of 127.0.0.1 (``first`` even, as RTP wants) all
    free now, for a media relay that binds them as calls come.

    rtpengine binds its media ports with ``SO_REUSEADDR``, so two relays given overlapping
    ranges can bind the same port, and the later one then receives the other's packets: a
    call loses its audio, its DTMF or its ICE checks. Ranges are therefore handed out in turn
    from 20000 up to the kernel's ephemeral ports, a slice of its own to each pytest-xdist
    worker (the whole band where a slice is too small for ``size``), each range after the
    last where the slice has room (a relay of the last test may still be stopping)."""
    band = _bands()[1]
    low, high = _slice(*band)
    if high - low < size + 1:
        low, high = band
    if high - low < size + 1:
        raise RuntimeError(f"no room for {size} RTP ports between {low} and {high}")
    first = _in_turn("relays", low, high, size, 2,
                     lambda port: _all_bindable(port, size, (socket.SOCK_DGRAM,)))
    return first, first + size - 1


_next: dict[str, int] = {}


def _in_turn(band: str, low: int, high: int, span: int, align: int, usable) -> int:
    """The next ``span`` ports of ``low``-``high`` for ``band``, starting on a multiple of
    ``align``, that ``usable(first)`` accepts; each band's turn starts at a random place."""
    for _ in range(max((high - low) // span, 1) + 1):
        port = _next.get(band)
        if port is None:
            port = random.SystemRandom().randrange(low, high - span + 1)   # not pytest-randomly's seed
        port += port % align
        if not low <= port <= high - span:
            port = low + low % align
        _next[band] = port + span
        if usable(port):
            return port
    raise RuntimeError(f"no {span} free port(s) on 127.0.0.1 between {low} and {high}")


def _bands() -> tuple[tuple[int, int], tuple[int, int]]:
    """The ports for servers and those for media relays: 10000-19999 and 20000 up to the
    ephemeral ports, or the two halves of the ports above them where they reach below 20000."""
    try:
        ephemeral = [int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()]
    except (OSError, ValueError):
        ephemeral = [32768, 60999]
    if ephemeral[0] >= 20000:
        return (10000, 20000), (20000, ephemeral[0])
    middle = (ephemeral[1] + 1 + 65536) // 2
    return (ephemeral[1] + 1, middle), (middle, 65536)


def _slice(low: int, high: int) -> tuple[int, int]:
    """This process's slice of ``low``-``high``: all of it, or its pytest-xdist worker's share."""
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % workers
    size = (high - low) // workers
    return low + worker * size, low + (worker + 1) * size


def _kernel_port(usable: Callable[[int], bool]) -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if usable(port):
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
