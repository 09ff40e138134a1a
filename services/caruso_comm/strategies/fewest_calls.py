"""Fewest calls: the agent who handled the fewest interactions since login; ties by longest idle."""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import RankedIdleStrategy


class FewestCalls(RankedIdleStrategy):
    def rank(self, agent: Agent) -> int:
        return agent.calls
