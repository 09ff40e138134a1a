"""One call's work, one task at a time: SIP reports, media reports, timers and commands of
a call run in the order they were posted, never two at once, on a pool shared by all calls.

Contract of :class:`Serial`: :meth:`~Serial.post` queues ``function(*args)`` and returns a
future of its result; tasks of one :class:`Serial` run one after another in posting order
on the pool's threads; a failing task fails its future only (logged, unless it failed with
a CarusoError: a refusal for whoever waits). At most
``limit`` tasks wait; beyond that a post fails at once with Unavailable.
"""
from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
from typing import Any, Callable

from caruso_core.errors import CarusoError, Unavailable

log = logging.getLogger(__name__)


class Serial:
    def __init__(self, pool: concurrent.futures.Executor, limit: int = 1000) -> None:
        self._pool = pool
        self._limit = limit
        self._tasks: collections.deque[tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...]]] = \
            collections.deque()
        self._lock = threading.Lock()
        self._running = False

    def post(self, function: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if len(self._tasks) >= self._limit:
                raise Unavailable(f"more than {self._limit} tasks wait for this call")
            self._tasks.append((future, function, args))
            start = not self._running
            self._running = True
        if start:
            try:
                self._pool.submit(self._drain)
            except RuntimeError:        # the pool shut down: run nothing more
                with self._lock:
                    self._tasks.clear()
                    self._running = False
                raise Unavailable("the call's worker pool is closed") from None
        return future

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._tasks:
                    self._running = False
                    return
                future, function, args = self._tasks.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except CarusoError as error:        # a refusal: whoever waits for the future reports it
                future.set_exception(error)
            except BaseException as error:
                log.exception("call task %s failed", getattr(function, "__qualname__", function))
                future.set_exception(error)
