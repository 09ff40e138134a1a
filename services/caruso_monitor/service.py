"""The status monitor service ``caruso.monitor/1``.

It follows the event log table by polling it for new ids, and for ids that were missing
below them while another writer's transaction was open (:mod:`caruso_monitor.feed`; it
needs nothing of the communication server but its table), and keeps a :class:`~caruso_monitor.picture.Picture`.
Started late, it rebuilds the picture by replaying the log. Subscribers long-poll
:meth:`MonitorService.updates`.

Configuration: ``db`` (event log URL; default ``comm.db`` in the data folder), ``poll``
(seconds between reads, default 0.5), ``window`` (service-level window, default 1800 s),
``sl_target`` (default 20 s), ``sl_targets`` (queue -> seconds) and ``thresholds`` (when a
queue's figures need attention: :mod:`caruso_monitor.thresholds`).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from caruso_core import HostContext, remote, service
from caruso_core.deployment import default_sqlite_url

from caruso_monitor.feed import Feed
from caruso_monitor.picture import SL_TARGET, WINDOW, Picture
from caruso_monitor.thresholds import Thresholds

EVENT_LOG = "comm.db"
MAX_TIMEOUT = 30.0
DRAIN_CHECK = 0.25          # seconds between looks at the host's draining flag while waiting
log = logging.getLogger(__name__)


@service(name="monitor", interface="caruso.monitor/1", version="1.0.0", autostart=True)
class MonitorService:
    """The live picture of agents, waiting interactions, service level and campaigns."""

    def __init__(self, db: str | None = None, poll: float = 0.5, window: float = WINDOW,
                 sl_target: float = SL_TARGET, sl_targets: dict[str, float] | None = None,
                 thresholds: dict[str, dict[str, list[float]]] | None = None,
                 context: HostContext | None = None) -> None:
        self.feed = Feed(db or default_sqlite_url(EVENT_LOG))
        self._draining = context.draining if context is not None else threading.Event()
        self._subscribers = 0
        self.poll = float(poll)
        self._picture = Picture(window, sl_targets, sl_target)
        self._thresholds = Thresholds(thresholds)
        self._version = 0
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="monitor-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self.feed.close()

    def health(self) -> dict[str, Any]:
        return {"status": "ok" if self._thread.is_alive() else "failing",
                "event_log": self.feed.url, "last_id": self._picture.last_id, "subscribers_waiting": self._subscribers}

    @remote
    def picture(self) -> dict[str, Any]:
        """The picture now: ``agent_counts``, ``agents``, ``queues`` (each with the ``levels``
        of its figures), ``waiting``, ``campaigns`` (docs/monitoring.md), plus ``version`` and
        ``last_id``."""
        with self._changed:
            return self._judged({**self._picture.snapshot(time.time()), "version": self._version})

    @remote
    def updates(self, since: int = 0, timeout: float = 10.0) -> dict[str, Any]:
        """The picture as soon as its ``version`` is greater than ``since``, or after
        ``timeout`` seconds (at most 30) as it is, or at once when the host drains its
        calls (a swap or a stop); pass the version you got last."""
        deadline = time.monotonic() + min(max(float(timeout), 0.0), MAX_TIMEOUT)
        with self._changed:
            self._subscribers += 1
            try:
                while (self._version <= since and not self._draining.is_set()
                       and (left := deadline - time.monotonic()) > 0):
                    self._changed.wait(min(left, DRAIN_CHECK))
            finally:
                self._subscribers -= 1
            return self._judged({**self._picture.snapshot(time.time()), "version": self._version})

    def _judged(self, picture: dict[str, Any]) -> dict[str, Any]:
        for queue in picture["queues"]:
            queue["levels"] = self._thresholds.levels(queue)
        return picture

    def _follow(self) -> None:
        ready = False
        while not self._stopping.is_set():
            try:
                ready = ready or self.feed.ready()
                if ready:
                    self._read()
            except Exception:  # a database hiccup must not end the monitor; it retries
                log.exception("reading the event log %s failed; retrying", self.feed.url)
            self._stopping.wait(self.poll)

    def _read(self) -> None:
        while batch := self.feed.read():
            with self._changed:
                for event in batch:
                    self._picture.apply(event)
                self._version += 1
                self._changed.notify_all()
