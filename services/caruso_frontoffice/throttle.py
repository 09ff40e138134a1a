"""Rate limiting of failed sign-ins, per user name and per client address."""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable

MAX_KEYS = 10_000


class Throttle:
    """Counts failures per key in a sliding window; a key with ``limit`` failures waits.

    Memory is bounded: beyond ``MAX_KEYS`` keys the least recently failed are forgotten.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: collections.OrderedDict[str, list[float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        with self._lock:
            recent = self._recent(key)
            if len(recent) < self.limit:
                return 0.0
            return max(recent[-self.limit] + self.window - self._clock(), 0.0)

    def failed(self, key: str) -> None:
        with self._lock:
            self._failures[key] = self._recent(key) + [self._clock()]
            self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str) -> list[float]:
        horizon = self._clock() - self.window
        return [moment for moment in self._failures.get(key, ()) if moment > horizon][-self.limit:]
