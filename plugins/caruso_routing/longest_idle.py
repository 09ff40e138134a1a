"""Longest idle: the agent idle since the earliest time gets the next interaction."""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import HeapStrategy


class LongestIdle(HeapStrategy):
    def key(self, agent: Agent, now: float) -> float:
        return agent.idle_since
