"""Round robin with memory: agents take turns in a fixed ring, starting after the last one offered."""
from __future__ import annotations

import bisect
import itertools
from typing import Collection

from caruso_comm.model import Agent
from caruso_comm.routing import Strategy


class RoundRobinMemory(Strategy):
    """The ring is the order in which agents first became ready in this pool."""

    def __init__(self, skills: dict[str, int]) -> None:
        super().__init__(skills)
        self._rank: dict[str, int] = {}
        self._ranks = itertools.count()
        self._ready: list[int] = []
        self._agents: dict[int, Agent] = {}
        self._last = -1

    def add(self, agent: Agent, now: float) -> None:
        rank = self._rank.setdefault(agent.id, next(self._ranks))
        if rank not in self._agents:
            bisect.insort(self._ready, rank)
        self._agents[rank] = agent

    def remove(self, agent: Agent) -> None:
        rank = self._rank.get(agent.id)
        if self._agents.pop(rank, None) is not None:
            del self._ready[bisect.bisect_left(self._ready, rank)]

    def _ring(self) -> list[int]:
        start = bisect.bisect_right(self._ready, self._last)
        return self._ready[start:] + self._ready[:start]

    def select(self, now: float, exclude: Collection[str] = ()) -> Agent | None:
        start = bisect.bisect_right(self._ready, self._last)
        count = len(self._ready)
        for step in range(count):
            agent = self._agents[self._ready[(start + step) % count]]
            if agent.id not in exclude:
                return agent
        return None

    def ready(self) -> list[Agent]:
        return [self._agents[rank] for rank in self._ring()]

    def routed(self, agent: Agent) -> None:
        self._last = self._rank.get(agent.id, self._last)
