"""Sliding-window rate limits per key (a user name, a client address): sign-in failures,
new self-service dialogs."""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable

MAX_KEYS = 10_000


class Throttle:
    """Counts hits per key in a sliding window of ``window`` seconds; a key with ``limit``
    hits in the window waits. Thread-safe; memory is bounded: beyond ``MAX_KEYS`` keys the
    least recently hit are forgotten.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: collections.OrderedDict[str, list[float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        with self._lock:
            recent = self._recent(key)
            if len(recent) < self.limit:
                return 0.0
            return max(recent[-self.limit] + self.window - self._clock(), 0.0)

    def hit(self, key: str) -> None:
        """Count one hit (a failure, a start) for ``key`` now."""
        with self._lock:
            self._hits[key] = self._recent(key) + [self._clock()]
            self._hits.move_to_end(key)
            while len(self._hits) > MAX_KEYS:
                self._hits.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _recent(self, key: str) -> list[float]:
        horizon = self._clock() - self.window
        return [moment for moment in self._hits.get(key, ()) if moment > horizon][-self.limit:]
