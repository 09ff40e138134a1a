"""News for the desk's push stream: a version that moves when the services the desk shows
publish events.

Contract of :class:`Changes`: :meth:`~Changes.wait`, awaited in the app's event loop,
returns the current version as soon as it differs from the one given, or after
``timeout`` seconds. Its first call starts one follower thread per interface in
``FOLLOWED``: each long-polls that service's ``events(after, timeout)`` (the
communication server's feed, the telephony component's legs) and moves the version when
events arrived; a service that does not answer is asked again every ``RETRY`` seconds.
Followers read no event's content, so a stream recomputes what its agent sees after
every move. :meth:`~Changes.stop` ends the followers after their current long poll
(at most ``WAIT`` seconds) without waiting for them.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from caruso_core.client import Client

FOLLOWED = ("caruso.comm/1", "caruso.telephony/1")
WAIT = 10.0
RETRY = 2.0

log = logging.getLogger(__name__)


class Changes:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.version = 0
        self._moved: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()

    async def wait(self, version: int, timeout: float) -> int:
        if self._loop is None:
            self._start(asyncio.get_running_loop())
        moved = self._moved
        if self.version == version and moved is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), timeout)
        return self.version

    def stop(self) -> None:
        self._stopping.set()

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._moved = loop, asyncio.Event()
        for interface in FOLLOWED:
            threading.Thread(target=self._follow, args=(interface,), name=f"desk-follows-{interface}",
                             daemon=True).start()

    def _move(self) -> None:
        """In the event loop: a new version, and every waiting stream woken."""
        assert self._moved is not None
        self.version += 1
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    def _follow(self, interface: str) -> None:
        service, after = self.client.get(interface), None
        while not self._stopping.is_set():
            try:
                answer = service.events(after, WAIT)
            except Exception as error:      # down, being swapped, or not deployed at all
                log.debug("desk push: %s did not answer (%s)", interface, error)
                after = None
                self._stopping.wait(RETRY)
                continue
            after = answer.get("last", answer.get("next"))
            if answer["events"] and self._loop is not None and not self._stopping.is_set():
                with contextlib.suppress(RuntimeError):         # the loop closed
                    self._loop.call_soon_threadsafe(self._move)
