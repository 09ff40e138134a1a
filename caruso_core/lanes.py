"""One thing's work, one task at a time: the tasks of a lane (a call's SIP and media
reports, timers and commands, say) run in the order they were posted, never two at once,
on a thread pool shared by all lanes, so that lanes go on side by side.

Contract of :class:`Lane`: :meth:`~Lane.post` queues ``function(*args)`` and returns a
future of its result; tasks of one lane run one after another in posting order on the
pool's threads; a task posted ``after`` a future (another lane's task, say) runs once that
future is done, and the lane's later tasks wait with it, holding no thread meanwhile; a
failing task fails its future only (logged, unless it failed with a CarusoError: a refusal
for whoever waits). At most ``limit`` tasks wait; beyond that a post fails at once with
Unavailable, as it does once the pool is shut down.
"""
from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
from typing import Any, Callable

from caruso_core.errors import CarusoError, Unavailable

log = logging.getLogger(__name__)


class Lane:
    def __init__(self, pool: concurrent.futures.Executor, limit: int = 1000) -> None:
        self._pool = pool
        self._limit = limit
        self._tasks: collections.deque[tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...],
                                             concurrent.futures.Future[Any] | None]] = collections.deque()
        self._lock = threading.Lock()
        self._running = False

    def post(self, function: Callable[..., Any], *args: Any,
             after: concurrent.futures.Future[Any] | None = None) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if len(self._tasks) >= self._limit:
                raise Unavailable(f"more than {self._limit} tasks wait in this lane")
            self._tasks.append((future, function, args, after))
            start = not self._running
            self._running = True
        if start:
            self._start()
        return future

    def _start(self) -> None:
        try:
            self._pool.submit(self._drain)
        except RuntimeError:            # the pool shut down: run nothing more, and say so to whoever waits
            with self._lock:
                dropped = list(self._tasks)
                self._tasks.clear()
                self._running = False
            for future, *_ in dropped:
                future.set_exception(Unavailable("the lane's worker pool is closed"))
            raise Unavailable("the lane's worker pool is closed") from None

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._tasks:
                    self._running = False
                    return
                future, function, args, after = self._tasks[0]
                waiting = after is not None and not after.done()
                if not waiting:
                    self._tasks.popleft()
            if waiting:
                after.add_done_callback(self._resumed)      # this drain ends; the callback starts the next
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except CarusoError as error:        # a refusal: whoever waits for the future reports it
                future.set_exception(error)
            except BaseException as error:
                log.exception("task %s failed", getattr(function, "__qualname__", function))
                future.set_exception(error)

    def _resumed(self, _: concurrent.futures.Future[Any]) -> None:
        """The future the lane's first task waits for is done: drain on (a closed pool: nothing more runs)."""
        try:
            self._start()
        except Unavailable:
            pass
