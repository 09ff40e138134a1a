"""Least talk time: the agent with the least connected time since login; ties by longest idle."""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import HeapStrategy


class LeastTalkTime(HeapStrategy):
    def key(self, agent: Agent, now: float) -> tuple[float, float]:
        return agent.talk_time, agent.idle_since
