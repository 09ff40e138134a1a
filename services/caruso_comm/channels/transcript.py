"""Messages of text interactions, kept per interaction in arrival order (thread-safe).

The transcripts of the latest ``capacity`` interactions are kept; older ones are
dropped (their interactions ended long ago; the contact history keeps the record).
A message's fields whose names start with ``_`` are the channel's own (e.g. the digest of
a chat's key): kept and written like the others, never shown by :meth:`Transcripts.of`.

With ``noting``, every message added is noted for the server's write-behind
(:meth:`Transcripts.take_changes`), so transcripts are stored like the server's other
records and a cold start can :meth:`Transcripts.load` those of the interactions it takes back.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Iterable


class Transcripts:
    def __init__(self, capacity: int = 10_000, noting: bool = False) -> None:
        self._lock = threading.Lock()
        self._capacity, self._noting = capacity, noting
        self._messages: collections.OrderedDict[str, list[dict[str, Any]]] = collections.OrderedDict()
        self._changes: list[tuple[str, int, dict[str, Any]]] = []
        self._received: dict[tuple[Any, str], str] = {}      # (sender, message_id) -> interaction kept

    def add(self, interaction: str, sender: str, text: str, **extra: Any) -> None:
        with self._lock:
            message = {"from": sender, "text": text, "time": time.time(), **extra}
            kept = self._kept(interaction)
            kept.append(message)
            self._index(interaction, message)
            if self._noting:
                self._changes.append((interaction, len(kept) - 1, dict(message)))

    def _kept(self, interaction: str) -> list[dict[str, Any]]:
        if interaction not in self._messages:
            self._messages[interaction] = []
            while len(self._messages) > self._capacity:
                self._forget(*self._messages.popitem(last=False))
        return self._messages[interaction]

    def _index(self, interaction: str, message: dict[str, Any]) -> None:
        if message.get("message_id"):
            self._received[(message.get("from"), message["message_id"])] = interaction

    def _forget(self, interaction: str, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            key = (message.get("from"), message.get("message_id"))
            if self._received.get(key) == interaction:
                del self._received[key]

    def of(self, interaction: str, after: int = 0) -> list[dict[str, Any]]:
        """Messages from the ``after``-th on (0: all), without the channel's own fields."""
        with self._lock:
            return [shown(m) for m in self._messages.get(interaction, [])[after:]]

    def own(self, interaction: str, after: int = 0) -> list[dict[str, Any]]:
        """Messages of ``interaction`` from the ``after``-th on with the channel's own fields (for the channel)."""
        with self._lock:
            return [dict(m) for m in self._messages.get(interaction, [])[after:]]

    def received(self, sender: str, message_id: str) -> str | None:
        """The interaction kept with the message ``message_id`` of ``sender`` (its latest), if any."""
        with self._lock:
            return self._received.get((sender, message_id))

    def take_changes(self) -> list[tuple[str, int, dict[str, Any]]]:
        """``(interaction, position, message)`` of each message added since the last call."""
        with self._lock:
            changes, self._changes = self._changes, []
            return changes

    def export(self, interactions: Iterable[str]) -> list[tuple[str, int, dict[str, Any]]]:
        """``(interaction, position, message)`` of every message of ``interactions``, with the
        channel's own fields, as :meth:`load` takes them (a hot-swap's successor)."""
        with self._lock:
            return [(interaction, position, dict(message)) for interaction in interactions
                    for position, message in enumerate(self._messages.get(interaction, []))]

    def load(self, messages: Iterable[tuple[str, int, dict[str, Any]]]) -> None:
        """Messages stored by an earlier run, ``(interaction, position, message)``; an
        interaction's transcript is replaced by its stored messages in order of position."""
        by_interaction: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for interaction, position, message in messages:
            by_interaction.setdefault(interaction, []).append((position, message))
        with self._lock:
            for interaction, numbered in by_interaction.items():
                self._forget(interaction, self._messages.pop(interaction, []))
                kept = self._kept(interaction)
                for _, message in sorted(numbered, key=lambda n: n[0]):
                    kept.append(dict(message))
                    self._index(interaction, kept[-1])


def shown(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` without the channel's own fields (those whose names start with ``_``)."""
    return {k: v for k, v in message.items() if not k.startswith("_")}
