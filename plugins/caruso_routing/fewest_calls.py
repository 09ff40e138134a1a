"""Fewest calls: the agent who handled the fewest interactions since login; ties by longest idle."""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import HeapStrategy


class FewestCalls(HeapStrategy):
    def key(self, agent: Agent, now: float) -> tuple[int, float]:
        return agent.calls, agent.idle_since
