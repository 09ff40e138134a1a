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
from collections import deque
from typing import Any, Collection, Iterable, Mapping

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

    Agents of one rank wait in a line sorted by idle time. They nearly always become ready
    with the latest idle time, so adding one appends it; the rare agent added with an
    earlier idle time is inserted ahead of the later ones (a binary search). Each entry carries a flag, a
    one-item list, true while the entry is live; the agent's mark for this strategy
    (``agent.marks[self]``) is the flag of its live entry. Removing an agent clears that
    flag through the agent, which the ACD touches anyway (lazy deletion): the stale entry
    is dropped when it reaches the front of its line, or when stale entries outnumber
    live ones. Adding, removing and selecting take constant time (amortized).
    """

    def __init__(self, skills: Mapping[str, int]) -> None:
        super().__init__(skills)
        self._lines: dict[int, deque[tuple[float, list[bool], Agent]]] = {}  # rank -> (idle, live, agent)
        self._ranks: list[int] = []
        self._ready = 0     # agents with a live entry
        self._entries = 0   # entries in the lines, live and stale

    def rank(self, agent: Agent) -> int:
        raise NotImplementedError

    def add(self, agent: Agent, now: float) -> None:
        rank, idle, live = self.rank(agent), agent.idle_since, [True]
        previous = agent.marks.get(self)
        if previous is None:
            self._ready += 1
        else:
            previous[0] = False
        agent.marks[self] = live
        line = self._lines.get(rank)
        if line is None:
            line = self._lines[rank] = deque()
            bisect.insort(self._ranks, rank)
        if not line or line[-1][0] <= idle:
            line.append((idle, live, agent))
        else:
            line.insert(bisect.bisect_right(line, idle, key=_idle), (idle, live, agent))
        self._entries += 1
        if self._entries > 64 + 2 * self._ready:
            self._compact()

    def remove(self, agent: Agent) -> None:
        live = agent.marks.pop(self, None)
        if live is not None:
            live[0] = False
            self._ready -= 1

    @staticmethod
    def _live(line: Iterable[tuple[float, list[bool], Agent]]) -> list[tuple[float, list[bool], Agent]]:
        return [entry for entry in line if entry[1][0]]

    def _compact(self) -> None:
        """Drop every stale entry (and the ranks left without agents)."""
        lines = {rank: deque(live) for rank in self._ranks if (live := self._live(self._lines[rank]))}
        self._lines, self._ranks = lines, sorted(lines)
        self._entries = self._ready

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        lines, ranks = self._lines, self._ranks
        index = 0
        while index < len(ranks):
            line = lines[ranks[index]]
            while line and not line[0][1][0]:
                line.popleft()
                self._entries -= 1
            if not line:
                del lines[ranks[index]], ranks[index]
                continue
            for _, live, agent in line:
                if live[0] and agent.id not in exclude:
                    return agent
            index += 1
        return None

    def ready(self) -> list[Agent]:
        return [entry[2] for rank in self._ranks for entry in self._live(self._lines[rank])]


def _idle(entry: tuple[float, list[bool], Agent]) -> float:
    return entry[0]


def installed() -> dict[str, type[Strategy]]:
    """The strategies every installed plugin provides, by name."""
    return plugins.provided(HOOK)


def strategy_class(strategies: Mapping[str, type[Strategy]], name: str, queue: str) -> type[Strategy]:
    """The class of strategy ``name``; a ConfigError naming the queue if it is unknown."""
    if name not in strategies:
        known = ", ".join(sorted(strategies)) or "none installed"
        raise ConfigError(f"queue {queue!r}: no routing strategy {name!r} (installed: {known})")
    return strategies[name]
