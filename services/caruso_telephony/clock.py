"""Deadlines of the telephony component (a prompt's end, a ring limit, a session timer's
check) in one thread.

Contract of :class:`Clock`: :meth:`~Clock.at` runs ``function(*args)`` in the clock's
thread once ``delay`` seconds have passed, unless the returned handle was cancelled;
functions must be quick (they post work elsewhere). :meth:`~Clock.every` repeats one
until the clock stops. A failing function is logged. :meth:`~Clock.stop` ends the thread;
pending deadlines are dropped.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable

log = logging.getLogger(__name__)


class Deadline:
    def __init__(self, when: float, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.function = function
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    def __init__(self, name: str = "telephony-clock") -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def at(self, delay: float, function: Callable[..., Any], *args: Any) -> Deadline:
        deadline = Deadline(time.monotonic() + max(delay, 0.0), function, args)
        with self._changed:
            heapq.heappush(self._heap, (deadline.when, next(self._order), deadline))
            self._changed.notify()
        return deadline

    def every(self, period: float, function: Callable[..., Any], *args: Any) -> None:
        def repeat() -> None:
            try:
                function(*args)
            finally:
                self.at(period, repeat)
        self.at(period, repeat)

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._heap.clear()
            self._changed.notify()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._changed.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._stopping:
                    return
                _, _, deadline = heapq.heappop(self._heap)
            if not deadline.cancelled:
                try:
                    deadline.function(*deadline.args)
                except Exception:
                    log.exception("deadline %s failed", getattr(deadline.function, "__qualname__", deadline.function))
