"""Messages of text interactions, kept per interaction in arrival order (thread-safe)."""
from __future__ import annotations

import threading
import time
from typing import Any


class Transcripts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, list[dict[str, Any]]] = {}

    def add(self, interaction: str, sender: str, text: str, **extra: Any) -> None:
        with self._lock:
            self._messages.setdefault(interaction, []).append(
                {"from": sender, "text": text, "time": time.time(), **extra})

    def of(self, interaction: str, after: int = 0) -> list[dict[str, Any]]:
        """Messages from the ``after``-th on (0: all)."""
        with self._lock:
            return [dict(m) for m in self._messages.get(interaction, [])[after:]]
