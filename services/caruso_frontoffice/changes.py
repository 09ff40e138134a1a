"""News for the desks' push streams: which part of which agent's desk may have changed.

Contract: a stream :meth:`~Changes.subscribe`\\ s for its agent (in the app's event loop)
and awaits :meth:`Subscription.wait`, which returns the topics that changed for that
agent since the last wait (an empty set after ``timeout`` seconds without news), then
:meth:`~Changes.unsubscribe`\\ s. Topics: ``desk`` when the communication server
published an event naming the agent (offers, connections, transfers, completions,
status), ``phone`` for every stream when the telephony component published one (its
events name legs, not agents). The first subscription starts one follower thread per
followed service: each long-polls that service's ``events(after, timeout)``; a service
that does not answer is asked again every ``RETRY`` seconds, and once it answers again
every stream gets that service's topic (events may have been missed). Changes that
publish no event, such as a chat message, are for the streams' own periodic refresh.
:meth:`~Changes.stop` (any thread) closes every subscription at once, so that their
streams end and the web server can stop, and ends the followers after their current
long poll (at most ``WAIT`` seconds) without waiting for them.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any, Callable, Iterable

from caruso_core.client import Client

WAIT = 2.0      # short: a long poll in flight holds up the stop of the service it waits on
RETRY = 2.0

log = logging.getLogger(__name__)


def _named_agents(events: Iterable[dict[str, Any]]) -> set[str] | None:
    return {event["agent"] for event in events if event.get("agent")}


def _every_stream(events: Iterable[dict[str, Any]]) -> set[str] | None:
    return None


# interface -> (topic, the agents its events concern: None for every stream)
FOLLOWED: dict[str, tuple[str, Callable[[Iterable[dict[str, Any]]], set[str] | None]]] = {
    "caruso.comm/1": ("desk", _named_agents),
    "caruso.telephony/1": ("phone", _every_stream),
}


class Subscription:
    """One stream's news; see the module's contract."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.closed = False
        self._topics: set[str] = set()
        self._news = asyncio.Event()

    def tell(self, topic: str) -> None:
        self._topics.add(topic)
        self._news.set()

    def close(self) -> None:
        """The front office stops: the stream ends after its current wait."""
        self.closed = True
        self._news.set()

    async def wait(self, timeout: float) -> set[str]:
        if not self._topics:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), timeout)
        self._news.clear()
        topics, self._topics = self._topics, set()
        return topics


class Changes:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()

    def subscribe(self, agent: str) -> Subscription:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            for interface in FOLLOWED:
                threading.Thread(target=self._follow, args=(interface,), name=f"desk-follows-{interface}",
                                 daemon=True).start()
        subscription = Subscription(agent)
        self._subscriptions.add(subscription)
        if self._stopping.is_set():
            subscription.close()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def streams(self, agent: str) -> int:
        """How many streams ``agent`` holds."""
        return sum(subscription.agent == agent for subscription in self._subscriptions)

    def stop(self) -> None:
        self._stopping.set()
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):         # the loop closed
                self._loop.call_soon_threadsafe(self._close_all)

    def _close_all(self) -> None:
        for subscription in self._subscriptions:
            subscription.close()

    def _tell(self, topic: str, agents: set[str] | None) -> None:
        """In the event loop: ``topic`` to the streams of ``agents`` (None: to every stream)."""
        for subscription in self._subscriptions:
            if agents is None or subscription.agent in agents:
                subscription.tell(topic)

    def _follow(self, interface: str) -> None:
        topic, concerned = FOLLOWED[interface]
        service, after, missed = self.client.get(interface), None, False
        while not self._stopping.is_set():
            try:
                answer = service.events(after, WAIT)
            except Exception as error:      # down, being swapped, or not deployed at all
                log.debug("desk push: %s did not answer (%s)", interface, error)
                after, missed = None, True
                self._stopping.wait(RETRY)
                continue
            after = answer.get("last", answer.get("next"))
            agents = None if missed else concerned(answer["events"]) if answer["events"] else set()
            missed = False
            if (agents is None or agents) and self._loop is not None and not self._stopping.is_set():
                with contextlib.suppress(RuntimeError):         # the loop closed
                    self._loop.call_soon_threadsafe(self._tell, topic, agents)
