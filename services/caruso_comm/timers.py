"""Timers on an injectable clock: the one scheduler the ACD uses.

The real server reads Unix time and runs due timers from a thread; the simulator
sets a virtual clock to the next timer's time and runs it. Either way the ACD code
is the same.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable


class VirtualClock:
    """A clock that only moves when told to: ``clock()`` reads it, ``clock.now = t`` sets it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Timers:
    """Calls scheduled at clock times, run in time order (ties in scheduling order)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Callable[..., Any], tuple]] = []
        self._sequence = itertools.count()

    def clear(self) -> None:
        """Forget every pending timer."""
        self._heap.clear()

    def now(self) -> float:
        return self.clock()

    def at(self, time: float, function: Callable[..., Any], *arguments: Any) -> None:
        """Schedule ``function(*arguments)`` at ``time``. A timer cannot be cancelled: the
        function checks when it runs whether it still has work (the ACD compares tokens)."""
        heapq.heappush(self._heap, (time, next(self._sequence), function, arguments))

    def after(self, delay: float, function: Callable[..., Any], *arguments: Any) -> None:
        self.at(self.clock() + delay, function, *arguments)

    def next_time(self) -> float | None:
        """Time of the earliest pending timer, or None."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> tuple[Callable[..., Any], tuple] | None:
        """Remove the earliest timer due at ``now`` and return its function and arguments;
        None if none is due."""
        heap = self._heap
        if heap and heap[0][0] <= now:
            return heapq.heappop(heap)[2:]
        return None

    def run_due(self, now: float) -> int:
        """Run every timer due at ``now`` (including ones they schedule); how many ran."""
        count = 0
        while (due := self.pop_due(now)) is not None:
            due[0](*due[1])
            count += 1
        return count
