"""Contact history: every ended interaction with a customer is added to that customer's
contact history in the storage service (``caruso.storage/1``, ``add_contact``).

Fed with the ACD's events; entries are written by a background thread so that routing
never waits for the storage service. An entry that cannot be written (storage down)
is retried every ``retry`` seconds while the writer runs when the storage service
cannot be reached; one it refuses (e.g. an unknown customer key) is logged and dropped.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

from caruso_core.errors import CallInterrupted, CarusoError, ManagerUnreachable, NoInstance

from caruso_comm.events import ABANDON, COMPLETE, ENTER, VOICEMAIL, Event
from caruso_comm.model import Interaction, utc_iso

log = logging.getLogger(__name__)
UNREACHABLE = (ManagerUnreachable, NoInstance, CallInterrupted)
ENDINGS = {COMPLETE: "completed", ABANDON: "abandoned", VOICEMAIL: "went to voicemail"}


class ContactHistory:
    """Writes entries for the customers of ``object`` (e.g. ``"Customer"``), whose keys are
    the interactions' ``customer`` values."""

    def __init__(self, object: str, storage: Callable[[], Any], retry: float = 1.0) -> None:
        self.object = object
        self._storage = storage
        self._retry = retry
        self._started: dict[str, dict[str, Any]] = {}
        self._pending: queue.Queue[tuple[Any, dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._write, name="comm-history", daemon=True)
        self._wait = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after writing what is pending (entries still failing are given up)."""
        self._pending.put(None)
        self._thread.join(timeout=30)

    def known(self, interaction: Interaction) -> None:
        """``interaction`` entered before this writer saw it (an earlier run left it open);
        its ending event is written like that of one it saw enter."""
        if interaction.customer is not None:
            self._started[interaction.id] = {"customer": interaction.customer, "channel": interaction.channel,
                                             "direction": interaction.direction, "queue": interaction.queue}

    def __call__(self, event: Event) -> None:
        if event.event == ENTER and "channel" in event.data:
            if event.data.get("customer") is not None:
                self._started[event.interaction] = dict(event.data, queue=event.queue)
        elif event.event in ENDINGS and event.interaction in self._started:
            start = self._started.pop(event.interaction)
            detail = event.data.get("disposition") or event.data.get("reason") or ""
            self._pending.put((start["customer"], {
                "channel": start["channel"], "direction": start["direction"], "agent": event.agent,
                "reference": event.interaction,
                "at": utc_iso(event.time),
                "summary": f"{ENDINGS[event.event]} in queue {event.queue}" + (f": {detail}" if detail else ""),
                "data": {k: v for k, v in event.data.items() if k in ("talk", "wait", "disposition")}}))

    def _write(self) -> None:
        stopping = False
        while not (stopping and self._pending.empty()):
            item = self._pending.get()
            if item is None:
                stopping = True
                continue
            customer, entry = item
            try:
                self._storage().add_contact(self.object, customer, entry)
            except UNREACHABLE as error:
                log.warning("contact history for %s %s: %s", self.object, customer, error)
                if not stopping:
                    self._wait.wait(self._retry)
                    self._pending.put(item)
            except CarusoError as error:
                log.warning("contact history for %s %s not written: %s", self.object, customer, error)
