"""Routing strategies: how a pool of agents orders its ready agents.

A strategy class is provided by a plugin (hook ``caruso_routing_strategies``) and
instantiated once per pool with the pool's skill requirement. The ACD tells it which
agents become ready (``add``), asks it for the agent to offer to (``select``) and
reports each offer (``routed``). With ``ring_all = True`` the ACD offers to every
ready agent at once (``ready``) and the first to accept gets the interaction.

Readiness is a flag: ``add`` gets the agent's readiness flag for the pool's channel, a
one-item list holding True while that readiness lasts. The ACD sets it to False when the
agent stops being ready on the channel (an offer, a break, a logout, new skills) and
gives a fresh flag when it adds the agent again; one flag serves every pool
of the channel, so an agent leaves all of them in one step. A strategy never offers an
agent whose flag it holds is False, and drops such entries when it likes (lazy deletion).
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

Flag = list   # [True] while a readiness lasts, then [False]


class Strategy:
    """The interface every strategy implements."""

    ring_all = False

    def __init__(self, skills: Mapping[str, int]) -> None:
        self.skills = dict(skills)

    def add(self, agent: Agent, now: float, ready: Flag) -> None:
        """``agent`` became ready (again, with new counters, if it was): it stays ready while
        ``ready[0]`` is True; an earlier flag of the agent is False by now."""
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


class HeapStrategy(Strategy):
    """A strategy ordering ready agents by ``key(agent, now)``, smallest first."""

    def __init__(self, skills: Mapping[str, int]) -> None:
        super().__init__(skills)
        self._heap: list[tuple[Any, int, Flag, Agent]] = []
        self._counter = itertools.count()
        self._entries = _Entries()

    def key(self, agent: Agent, now: float) -> Any:
        raise NotImplementedError

    def add(self, agent: Agent, now: float, ready: Flag) -> None:
        heapq.heappush(self._heap, (self.key(agent, now), next(self._counter), ready, agent))
        if self._entries.add():
            self._heap = [entry for entry in self._heap if entry[2][0]]
            heapq.heapify(self._heap)
            self._entries.counted(len(self._heap))

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        entry = heaps.first(self._heap, _stale, lambda e: e[3].id in exclude)
        return entry[3] if entry is not None else None

    def ready(self) -> list[Agent]:
        return [entry[3] for entry in sorted(self._heap) if entry[2][0]]


def _stale(entry: tuple) -> bool:
    return not entry[2][0]


class RankedIdleStrategy(Strategy):
    """A strategy ordering ready agents by an integer ``rank(agent)``, smallest first, then
    longest idle (``idle_since`` when added), then the order they were added: the order of a
    :class:`HeapStrategy` keyed ``(rank, idle_since)``, kept without a heap.

    Agents of one rank wait in a line sorted by idle time. They nearly always become ready
    with the latest idle time, so adding one appends it; the rare agent added with an
    earlier idle time is inserted ahead of the later ones (a binary search). An entry whose
    readiness flag is False is dropped when it reaches the front of its line, or when all
    lines are compacted. Adding takes constant time (amortized), and so does selecting
    when ``exclude`` is empty.
    """

    def __init__(self, skills: Mapping[str, int]) -> None:
        super().__init__(skills)
        self._lines: dict[int, deque[tuple[float, Flag, Agent]]] = {}  # rank -> (idle, ready, agent)
        self._ranks: list[int] = []
        self._entries = _Entries()

    def rank(self, agent: Agent) -> int:
        raise NotImplementedError

    def add(self, agent: Agent, now: float, ready: Flag) -> None:
        rank, idle = self.rank(agent), agent.idle_since
        line = self._lines.get(rank)
        if line is None:
            line = self._lines[rank] = deque()
            bisect.insort(self._ranks, rank)
        if not line or line[-1][0] <= idle:
            line.append((idle, ready, agent))
        else:
            line.insert(bisect.bisect_right(line, idle, key=_idle), (idle, ready, agent))
        if self._entries.add():
            self._compact()

    @staticmethod
    def _live(line: Iterable[tuple[float, Flag, Agent]]) -> list[tuple[float, Flag, Agent]]:
        return [entry for entry in line if entry[1][0]]

    def _compact(self) -> None:
        """Drop every stale entry (and the ranks left without agents)."""
        lines = {rank: deque(live) for rank in self._ranks if (live := self._live(self._lines[rank]))}
        self._lines, self._ranks = lines, sorted(lines)
        self._entries.counted(sum(map(len, lines.values())))

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        lines, ranks = self._lines, self._ranks
        index = 0
        while index < len(ranks):
            line = lines[ranks[index]]
            while line and not line[0][1][0]:
                line.popleft()
            if not line:
                del lines[ranks[index]], ranks[index]
                continue
            for _, ready, agent in line:
                if ready[0] and agent.id not in exclude:
                    return agent
            index += 1
        return None

    def ready(self) -> list[Agent]:
        return [entry[2] for rank in self._ranks for entry in self._live(self._lines[rank])]


def _idle(entry: tuple[float, Flag, Agent]) -> float:
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
