"""The media layer's notifications (``on_dtmf``, ``on_timeout``), made from one thread of its own.

Contract: :meth:`Notifier.post` queues a call and returns at once; the notifier's thread
makes the calls one at a time, in the order they were posted, so a slow receiver never
holds up the listeners; an exception from a call is logged and the next call is made.
At most ``MAX_PENDING`` calls wait: one more is dropped with an error logged.
:meth:`Notifier.stop` makes the calls posted before it, then ends the thread.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable

MAX_PENDING = 10000
log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, name: str) -> None:
        self._pending: queue.Queue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.Queue(MAX_PENDING)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def post(self, function: Callable[..., None], *args: Any) -> None:
        try:
            self._pending.put_nowait((function, args))
        except queue.Full:
            log.error("%d media notifications wait already: %s%r dropped", MAX_PENDING, function.__name__, args)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._pending.put(None)
            self._thread.join()

    def _run(self) -> None:
        while (item := self._pending.get()) is not None:
            function, args = item
            try:
                function(*args)
            except Exception:
                log.exception("media notification %s%r failed", function.__name__, args)
