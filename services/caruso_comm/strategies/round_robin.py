"""Round robin with memory: agents take turns in a fixed ring, starting after the last one offered."""
from __future__ import annotations

import bisect
import itertools
from typing import Collection

from caruso_comm.model import Agent
from caruso_comm.routing import Readiness, Strategy


class RoundRobinMemory(Strategy):
    """The ring is the order in which agents first became ready in this pool."""

    def __init__(self, skills: dict[str, int]) -> None:
        super().__init__(skills)
        self._rank: dict[str, int] = {}
        self._ranks = itertools.count()
        self._ring: list[int] = []                      # ranks with an entry, in order
        self._agents: dict[int, Readiness] = {}         # rank -> the agent's readiness
        self._last = -1

    def add(self, agent: Agent, now: float, readiness: Readiness) -> None:
        rank = self._rank.setdefault(agent.id, next(self._ranks))
        if rank not in self._agents:
            bisect.insort(self._ring, rank)
        self._agents[rank] = readiness

    def _drop(self, over: list[int]) -> None:
        """Forget the entries of agents no longer ready."""
        for rank in over:
            del self._agents[rank], self._ring[bisect.bisect_left(self._ring, rank)]

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        ring, over, found = self._ring, [], None
        start = bisect.bisect_right(ring, self._last)
        for step in range(len(ring)):
            rank = ring[(start + step) % len(ring)]
            readiness = self._agents[rank]
            if not readiness.live:
                over.append(rank)
            elif readiness.agent.id not in exclude:
                found = readiness.agent
                break
        self._drop(over)
        return found

    def ready(self) -> list[Agent]:
        self._drop([rank for rank in self._ring if not self._agents[rank].live])
        start = bisect.bisect_right(self._ring, self._last)
        return [self._agents[rank].agent for rank in self._ring[start:] + self._ring[:start]]

    def routed(self, agent: Agent) -> None:
        self._last = self._rank.get(agent.id, self._last)
