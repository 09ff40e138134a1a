"""Routing strategies: how a pool of agents orders its ready agents.

A strategy class is provided by a plugin (hook ``caruso_routing_strategies``) and
instantiated once per pool with the pool's skill requirement. The ACD tells it which
agents are ready (``add``/``remove``), asks it for the agent to offer to (``select``)
and reports each offer (``routed``). With ``ring_all = True`` the ACD offers to every
ready agent at once (``ready``) and the first to accept gets the interaction.
"""
from __future__ import annotations

import bisect
import heapq
import itertools
from collections import OrderedDict
from typing import Any, Collection, Mapping

from caruso_core import plugins
from caruso_core.errors import ConfigError

from caruso_comm import heaps
from caruso_comm.model import Agent

HOOK = "caruso_routing_strategies"


class Strategy:
    """The interface every strategy implements."""

    ring_all = False

    def __init__(self, skills: Mapping[str, int]) -> None:
        self.skills = dict(skills)

    def add(self, agent: Agent, now: float) -> None:
        """``agent`` became ready (or its counters changed while ready)."""
        raise NotImplementedError

    def remove(self, agent: Agent) -> None:
        """``agent`` is no longer ready; unknown agents are ignored."""
        raise NotImplementedError

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        """The ready agent to offer to next, skipping ids in ``exclude``; None if none."""
        raise NotImplementedError

    def ready(self) -> list[Agent]:
        """Every ready agent, best first."""
        raise NotImplementedError

    def routed(self, agent: Agent) -> None:
        """An interaction was offered to ``agent`` (for strategies with memory)."""


class HeapStrategy(Strategy):
    """A strategy ordering ready agents by ``key(agent, now)``, smallest first."""

    def __init__(self, skills: Mapping[str, int]) -> None:
        super().__init__(skills)
        self._heap: list[tuple[Any, int, Agent]] = []
        self._tokens: dict[str, int] = {}
        self._counter = itertools.count()

    def key(self, agent: Agent, now: float) -> Any:
        raise NotImplementedError

    def add(self, agent: Agent, now: float) -> None:
        token = next(self._counter)
        self._tokens[agent.id] = token
        heapq.heappush(self._heap, (self.key(agent, now), token, agent))
        if len(self._heap) > 64 + 4 * len(self._tokens):
            self._heap = [entry for entry in self._heap if self._tokens.get(entry[2].id) == entry[1]]
            heapq.heapify(self._heap)

    def remove(self, agent: Agent) -> None:
        self._tokens.pop(agent.id, None)

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        heap, tokens = self._heap, self._tokens
        while heap:
            _, token, agent = heap[0]
            if tokens.get(agent.id) != token:
                heapq.heappop(heap)
            elif agent.id not in exclude:
                return agent
            else:
                break
        entry = heaps.first(self._heap, lambda e: tokens.get(e[2].id) != e[1],
                            lambda e: e[2].id in exclude)
        return entry[2] if entry is not None else None

    def ready(self) -> list[Agent]:
        return [agent for _, token, agent in sorted(self._heap) if self._tokens.get(agent.id) == token]


class RankedIdleStrategy(Strategy):
    """A strategy ordering ready agents by an integer ``rank(agent)``, smallest first, then
    longest idle (``idle_since`` when added), then the order they were added: the order of a
    :class:`HeapStrategy` keyed ``(rank, idle_since)``, kept without a heap.

    Agents of one rank sit in an insertion-ordered bucket. They nearly always become ready
    with the latest idle time, so adding one appends it; the rare agent added with an
    earlier idle time is moved ahead of the later ones. Selecting reads the first agent of
    the first non-empty bucket; removing deletes from the bucket at once (no stale entries).
    """

    def __init__(self, skills: Mapping[str, int]) -> None:
        super().__init__(skills)
        self._buckets: dict[int, OrderedDict[str, Agent]] = {}
        self._ranks: list[int] = []
        self._placed: dict[str, tuple[int, float]] = {}   # agent id -> (rank, idle time) when added

    def rank(self, agent: Agent) -> int:
        raise NotImplementedError

    def add(self, agent: Agent, now: float) -> None:
        self.remove(agent)
        rank, idle = self.rank(agent), agent.idle_since
        bucket = self._buckets.get(rank)
        if bucket is None:
            bucket = self._buckets[rank] = OrderedDict()
            bisect.insort(self._ranks, rank)
        placed, later = self._placed, []
        if bucket and placed[next(reversed(bucket))][1] > idle:
            for agent_id in reversed(bucket):
                if placed[agent_id][1] <= idle:
                    break
                later.append(agent_id)
        bucket[agent.id] = agent
        placed[agent.id] = (rank, idle)
        for agent_id in reversed(later):
            bucket.move_to_end(agent_id)

    def remove(self, agent: Agent) -> None:
        spot = self._placed.pop(agent.id, None)
        if spot is None:
            return
        bucket = self._buckets[spot[0]]
        del bucket[agent.id]
        if not bucket:
            del self._buckets[spot[0]]
            del self._ranks[bisect.bisect_left(self._ranks, spot[0])]

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        buckets = self._buckets
        for rank in self._ranks:
            for agent in buckets[rank].values():
                if agent.id not in exclude:
                    return agent
        return None

    def ready(self) -> list[Agent]:
        return [agent for rank in self._ranks for agent in self._buckets[rank].values()]


def installed() -> dict[str, type[Strategy]]:
    """The strategies every installed plugin provides, by name."""
    return plugins.provided(HOOK)


def strategy_class(strategies: Mapping[str, type[Strategy]], name: str, queue: str) -> type[Strategy]:
    """The class of strategy ``name``; a ConfigError naming the queue if it is unknown."""
    if name not in strategies:
        known = ", ".join(sorted(strategies)) or "none installed"
        raise ConfigError(f"queue {queue!r}: no routing strategy {name!r} (installed: {known})")
    return strategies[name]
