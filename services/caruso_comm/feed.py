"""The live event feed for monitors: the latest events, numbered, long-polled."""
from __future__ import annotations

import collections
import threading
import time
from typing import Any

from caruso_comm.events import Event

MAX_WAIT = 30.0


class EventFeed:
    """Keeps the last ``capacity`` events, numbered from 1 in publication order."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._events: collections.deque[tuple[int, dict[str, Any]]] = collections.deque(maxlen=capacity)
        self._last = 0
        self._changed = threading.Condition()

    def continue_from(self, last: int) -> None:
        """Drop the events kept; number the next ones after ``last`` (a successor continues its
        predecessor's numbers)."""
        with self._changed:
            self._events.clear()
            self._last = last

    @property
    def last(self) -> int:
        return self._last

    def publish(self, event: Event) -> None:
        with self._changed:
            self._last += 1
            self._events.append((self._last, event.to_dict()))
            self._changed.notify_all()

    def since(self, after: int | None = 0, timeout: float = 0.0) -> dict[str, Any]:
        """Events numbered above ``after`` (None: above the last one now), waiting up to
        ``timeout`` seconds (at most 30) for one.

        Returns ``{"last": n, "events": [...], "missed": k}``: each event carries its
        number as ``seq``; ``missed`` counts events no longer kept (the caller fell behind).
        """
        deadline = time.monotonic() + min(max(0.0, float(timeout)), MAX_WAIT)
        with self._changed:
            after = self._last if after is None else int(after)
            while self._last <= after and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            kept = [dict(data, seq=seq) for seq, data in self._events if seq > after]
            first = kept[0]["seq"] if kept else self._last + 1
            return {"last": self._last, "events": kept, "missed": max(0, first - after - 1)}
