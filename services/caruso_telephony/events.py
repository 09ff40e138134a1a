"""The events of the interface ``caruso.telephony/1``: numbered, kept in a bounded buffer,
read with a long poll.

Contract of :class:`EventLog`: :meth:`~EventLog.emit` numbers an event (``seq`` from 1 in
one *epoch*, a random name for an unbroken numbering) and keeps the latest ``capacity``
ones. :meth:`~EventLog.read` returns the events after ``since`` (None: after the latest
now), waiting up to ``timeout`` seconds (at most 30) for one, and at once when
``draining`` is set; ``next`` is the ``since`` of the next read. ``missed`` is True when
events after ``since`` are gone from the buffer or ``epoch`` is not this log's (the
reader should look at ``calls()`` again); the oldest kept events come then. A drain swap
hands the numbering on: :meth:`~EventLog.export` and :meth:`~EventLog.adopt` keep epoch,
numbers and buffer, so a reader of the old instance goes on reading the new one.
"""
from __future__ import annotations

import collections
import secrets
import threading
import time
from typing import Any

MAX_TIMEOUT = 30.0
DRAIN_CHECK = 0.25       # seconds between looks at the draining flag while waiting


class EventLog:
    """See the module's contract."""

    def __init__(self, capacity: int = 10000, draining: threading.Event | None = None) -> None:
        self.capacity = capacity
        self.epoch = secrets.token_hex(6)
        self.draining = draining or threading.Event()
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=capacity)
        self._seq = 0
        self._changed = threading.Condition()
        self.waiting = 0

    @property
    def last(self) -> int:
        return self._seq

    def emit(self, event: str, call: str, **fields: Any) -> dict[str, Any]:
        with self._changed:
            self._seq += 1
            record = {"seq": self._seq, "event": event, "time": time.time(), "call": call, **fields}
            self._events.append(record)
            self._changed.notify_all()
        return record

    def read(self, since: int | None = None, timeout: float = 5.0, epoch: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + min(max(float(timeout), 0.0), MAX_TIMEOUT)
        with self._changed:
            missed = epoch is not None and epoch != self.epoch
            if since is None or missed:
                since = 0 if missed else self._seq
            since = int(since)
            self.waiting += 1
            try:
                while (self._seq <= since and not self.draining.is_set()
                       and (left := deadline - time.monotonic()) > 0):
                    self._changed.wait(min(left, DRAIN_CHECK))
            finally:
                self.waiting -= 1
            oldest = self._events[0]["seq"] if self._events else self._seq + 1
            missed = missed or since + 1 < oldest
            events = [dict(event) for event in self._events if event["seq"] > since]
            return {"next": self._seq, "events": events, "missed": missed, "epoch": self.epoch}

    def export(self) -> dict[str, Any]:
        with self._changed:
            return {"epoch": self.epoch, "seq": self._seq, "events": [dict(event) for event in self._events]}

    def adopt(self, state: dict[str, Any]) -> None:
        with self._changed:
            self.epoch = str(state["epoch"])
            self._seq = int(state["seq"])
            self._events.clear()
            self._events.extend(dict(event) for event in state["events"][-self.capacity:])
            self._changed.notify_all()
