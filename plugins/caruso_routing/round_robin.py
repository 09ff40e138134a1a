"""Round robin with memory: agents take turns in a fixed ring, starting after the last one offered."""
from __future__ import annotations

import bisect
import itertools
from typing import Collection

from caruso_comm.model import Agent
from caruso_comm.routing import Flag, Strategy


class RoundRobinMemory(Strategy):
    """The ring is the order in which agents first became ready in this pool."""

    def __init__(self, skills: dict[str, int]) -> None:
        super().__init__(skills)
        self._rank: dict[str, int] = {}
        self._ranks = itertools.count()
        self._ring: list[int] = []                         # ranks with an entry, in order
        self._agents: dict[int, tuple[Flag, Agent]] = {}   # rank -> (ready, agent)
        self._last = -1

    def add(self, agent: Agent, now: float, ready: Flag) -> None:
        rank = self._rank.setdefault(agent.id, next(self._ranks))
        if rank not in self._agents:
            bisect.insort(self._ring, rank)
        self._agents[rank] = (ready, agent)

    def _drop(self, stale: list[int]) -> None:
        """Forget the entries of agents no longer ready."""
        for rank in stale:
            del self._agents[rank], self._ring[bisect.bisect_left(self._ring, rank)]

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        ring, stale, found = self._ring, [], None
        start = bisect.bisect_right(ring, self._last)
        for step in range(len(ring)):
            rank = ring[(start + step) % len(ring)]
            ready, agent = self._agents[rank]
            if not ready[0]:
                stale.append(rank)
            elif agent.id not in exclude:
                found = agent
                break
        self._drop(stale)
        return found

    def ready(self) -> list[Agent]:
        self._drop([rank for rank in self._ring if not self._agents[rank][0][0]])
        start = bisect.bisect_right(self._ring, self._last)
        return [self._agents[rank][1] for rank in self._ring[start:] + self._ring[:start]]

    def routed(self, agent: Agent) -> None:
        self._last = self._rank.get(agent.id, self._last)
