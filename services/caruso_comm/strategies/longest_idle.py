"""Longest idle: the agent idle since the earliest time gets the next interaction."""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import RankedIdleStrategy


class LongestIdle(RankedIdleStrategy):
    def rank(self, agent: Agent) -> int:
        return 0
