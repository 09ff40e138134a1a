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


class Timer:
    """A scheduled call; ``cancel()`` makes it a no-op."""

    __slots__ = ("time", "function", "arguments", "cancelled")

    def __init__(self, time: float, function: Callable[..., Any], arguments: tuple) -> None:
        self.time = time
        self.function = function
        self.arguments = arguments
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """Calls scheduled at clock times, run in time order (ties in scheduling order)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._sequence = itertools.count()

    def clear(self) -> None:
        """Forget every pending timer."""
        self._heap.clear()

    def now(self) -> float:
        return self.clock()

    def at(self, time: float, function: Callable[..., Any], *arguments: Any) -> Timer:
        """Schedule ``function(*arguments)`` at ``time``."""
        timer = Timer(time, function, arguments)
        heapq.heappush(self._heap, (time, next(self._sequence), timer))
        return timer

    def after(self, delay: float, function: Callable[..., Any], *arguments: Any) -> Timer:
        return self.at(self.clock() + delay, function, *arguments)

    def next_time(self) -> float | None:
        """Time of the earliest pending timer, or None."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> Timer | None:
        """Remove and return the earliest timer due at ``now``, or None."""
        heap = self._heap
        while heap and (heap[0][2].cancelled or heap[0][0] <= now):
            timer = heapq.heappop(heap)[2]
            if not timer.cancelled:
                return timer
        return None

    def run_due(self, now: float) -> int:
        """Run every timer due at ``now`` (including ones they schedule); how many ran."""
        count = 0
        while (timer := self.pop_due(now)) is not None:
            timer.function(*timer.arguments)
            count += 1
        return count
