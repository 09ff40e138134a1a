"""The server's one lock and the thread that runs its timers on Unix time.

Everything that touches the ACD, its timers, campaigns, voicemail or calls in the IVR
runs under one lock, taken as ``with serial:`` (reentrant); leaving it wakes the thread,
since the work done may have set timers. The thread runs due timers while ``running()``
and calls ``tick()`` every ``interval`` seconds, both under the lock; a failing timer or
tick is logged and the loop goes on.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from caruso_comm.timers import Timers

log = logging.getLogger(__name__)


class Serial:
    """One piece of work at a time, and the timers of ``timers`` when due."""

    def __init__(self, timers: Timers, running: Callable[[], bool], tick: Callable[[], None],
                 interval: float = 1.0) -> None:
        self._timers, self._running, self._tick, self._interval = timers, running, tick, interval
        self._condition = threading.Condition(threading.RLock())
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="comm-timers", daemon=True)

    def __enter__(self) -> None:
        self._condition.acquire()

    def __exit__(self, *exception: Any) -> None:
        try:
            self._condition.notify()
        finally:
            self._condition.release()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the thread after the work it is doing (at most 10 s)."""
        with self:
            self._stopping = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        ticked = time.monotonic()
        with self._condition:
            while not self._stopping:
                running = self._running()
                while running and (due := self._timers.pop_due(time.time())) is not None:
                    function, arguments = due
                    try:
                        function(*arguments)
                    except Exception:
                        log.exception("communication server timer %s failed", function.__name__)
                if time.monotonic() - ticked >= self._interval:
                    try:
                        self._tick()
                    except Exception:
                        log.exception("communication server: the periodic work failed; retrying")
                    ticked = time.monotonic()
                due = self._timers.next_time() if running else None
                wait = self._interval if due is None else min(self._interval, max(0.0, due - time.time()))
                self._condition.wait(wait)
