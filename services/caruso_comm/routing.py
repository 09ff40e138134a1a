"""Routing strategies: how a pool of agents orders its ready agents.

A strategy class is provided by a plugin (hook ``caruso_routing_strategies``) and
instantiated once per pool with the pool's skill requirement. The ACD tells it which
agents become ready (``add``), asks it for the agent to offer to (``select``) and
reports each offer (``routed``). With ``ring_all = True`` the ACD offers to every
ready agent at once (``ready``) and the first to accept gets the interaction.

``add`` gets the agent's :class:`Readiness` on the pool's channel, which is ``live``
while the agent stays ready. The ACD ends it (``live`` False) when the agent stops being
ready on the channel (an offer, a break, a logout, new skills) and makes a new one when
it adds the agent again; one readiness serves every pool of the channel, so an agent
leaves all of them in one step. A strategy never offers an agent whose readiness it holds
is over, and drops such entries when it likes (lazy deletion).
"""
from __future__ import annotations

import bisect
import heapq
import itertools
from collections import deque
from typing import Any, Collection, Mapping, NamedTuple

import attrs

from caruso_core import plugins
from caruso_core.errors import ConfigError

from caruso_comm import heaps
from caruso_comm.model import Agent

HOOK = "caruso_routing_strategies"


@attrs.define(eq=False)
class Readiness:
    """``agent`` ready on one channel, idle since ``idle_since`` when it became ready;
    ``live`` while that lasts (the ACD ends it)."""

    agent: Agent
    idle_since: float
    live: bool = True


class Strategy:
    """The interface every strategy implements."""

    ring_all = False

    def __init__(self, skills: Mapping[str, int]) -> None:
        self.skills = dict(skills)

    def add(self, agent: Agent, now: float, readiness: Readiness) -> None:
        """``agent`` became ready (again, with new counters, if it was): it stays ready while
        ``readiness.live``; an earlier readiness of the agent is over by now."""
        raise NotImplementedError

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        """The ready agent to offer to next, skipping ids in ``exclude``; None if none."""
        raise NotImplementedError

    def ready(self) -> list[Agent]:
        """Every ready agent, best first."""
        raise NotImplementedError

    def routed(self, agent: Agent) -> None:
        """An interaction was offered to ``agent`` (for strategies with memory)."""


class _Entries:
    """Counts the entries added since the stale ones were last dropped, and says when to
    drop them again: once more were added than were live then, plus 64 (so dropping costs
    constant time per entry, amortized, and stale entries never outnumber twice the live
    ones at the last count plus 64)."""

    def __init__(self) -> None:
        self.added = 0
        self.limit = 64

    def add(self) -> bool:
        """One more entry; True when the caller should drop its stale entries and :meth:`counted`."""
        self.added += 1
        return self.added > self.limit

    def counted(self, live: int) -> None:
        self.added, self.limit = 0, 64 + live


class Keyed(NamedTuple):
    """An entry of a :class:`HeapStrategy`: the agent's key, then the order of adding."""

    key: Any
    order: int
    readiness: Readiness


class HeapStrategy(Strategy):
    """A strategy ordering ready agents by ``key(agent, now)``, smallest first."""

    def __init__(self, skills: Mapping[str, int]) -> None:
        super().__init__(skills)
        self._heap: list[Keyed] = []
        self._counter = itertools.count()
        self._entries = _Entries()

    def key(self, agent: Agent, now: float) -> Any:
        raise NotImplementedError

    def add(self, agent: Agent, now: float, readiness: Readiness) -> None:
        heapq.heappush(self._heap, Keyed(self.key(agent, now), next(self._counter), readiness))
        if self._entries.add():
            self._heap = [entry for entry in self._heap if entry.readiness.live]
            heapq.heapify(self._heap)
            self._entries.counted(len(self._heap))

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        entry = heaps.first(self._heap, _over, lambda e: e.readiness.agent.id in exclude)
        return entry.readiness.agent if entry is not None else None

    def ready(self) -> list[Agent]:
        return [entry.readiness.agent for entry in sorted(self._heap) if entry.readiness.live]


def _over(entry: Keyed) -> bool:
    return not entry.readiness.live


class RankedIdleStrategy(Strategy):
    """A strategy ordering ready agents by an integer ``rank(agent)``, smallest first, then
    longest idle (``idle_since`` of the readiness), then the order they were added: the
    order of a :class:`HeapStrategy` keyed ``(rank, idle_since)``, kept without a heap.

    Agents of one rank wait in a line of readinesses sorted by idle time. They nearly always
    become ready with the latest idle time, so adding one appends it; the rare agent added
    with an earlier idle time is inserted ahead of the later ones (a binary search). A
    readiness that is over is dropped when it reaches the front of its line, or when all
    lines are compacted. Adding takes constant time (amortized), and so does selecting
    when ``exclude`` is empty.
    """

    def __init__(self, skills: Mapping[str, int]) -> None:
        super().__init__(skills)
        self._lines: dict[int, deque[Readiness]] = {}
        self._ranks: list[int] = []
        self._entries = _Entries()

    def rank(self, agent: Agent) -> int:
        raise NotImplementedError

    def add(self, agent: Agent, now: float, readiness: Readiness) -> None:
        rank = self.rank(agent)
        line = self._lines.get(rank)
        if line is None:
            line = self._lines[rank] = deque()
            bisect.insort(self._ranks, rank)
        if not line or line[-1].idle_since <= readiness.idle_since:
            line.append(readiness)
        else:
            line.insert(bisect.bisect_right(line, readiness.idle_since, key=_idle), readiness)
        if self._entries.add():
            self._compact()

    def _compact(self) -> None:
        """Drop every readiness that is over (and the ranks left without agents)."""
        lines = {rank: live for rank in self._ranks
                 if (live := deque(r for r in self._lines[rank] if r.live))}
        self._lines, self._ranks = lines, sorted(lines)
        self._entries.counted(sum(map(len, lines.values())))

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        lines, ranks = self._lines, self._ranks
        index = 0
        while index < len(ranks):
            line = lines[ranks[index]]
            while line and not line[0].live:
                line.popleft()
            if not line:
                del lines[ranks[index]], ranks[index]
                continue
            for readiness in line:
                if readiness.live and readiness.agent.id not in exclude:
                    return readiness.agent
            index += 1
        return None

    def ready(self) -> list[Agent]:
        return [r.agent for rank in self._ranks for r in self._lines[rank] if r.live]


def _idle(readiness: Readiness) -> float:
    return readiness.idle_since


def installed() -> dict[str, type[Strategy]]:
    """The strategies every installed plugin provides, by name."""
    return plugins.provided(HOOK)


def strategy_class(strategies: Mapping[str, type[Strategy]], name: str, queue: str) -> type[Strategy]:
    """The class of strategy ``name``; a ConfigError naming the queue if it is unknown."""
    if name not in strategies:
        known = ", ".join(sorted(strategies)) or "none installed"
        raise ConfigError(f"queue {queue!r}: no routing strategy {name!r} (installed: {known})")
    return strategies[name]
