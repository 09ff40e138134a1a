"""Messages of text interactions, kept per interaction in arrival order (thread-safe).

The transcripts of the latest ``capacity`` interactions are kept; older ones are
dropped (their interactions ended long ago; the contact history keeps the record).
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any


class Transcripts:
    def __init__(self, capacity: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._messages: collections.OrderedDict[str, list[dict[str, Any]]] = collections.OrderedDict()

    def add(self, interaction: str, sender: str, text: str, **extra: Any) -> None:
        with self._lock:
            if interaction not in self._messages:
                self._messages[interaction] = []
                while len(self._messages) > self._capacity:
                    self._messages.popitem(last=False)
            self._messages[interaction].append({"from": sender, "text": text, "time": time.time(), **extra})

    def of(self, interaction: str, after: int = 0) -> list[dict[str, Any]]:
        """Messages from the ``after``-th on (0: all)."""
        with self._lock:
            return [dict(m) for m in self._messages.get(interaction, [])[after:]]
