"""Skills-based: the agent with the highest levels in the pool's required skills; ties by longest idle.

Interaction priorities and time-based escalation (relaxed levels, other queues) are
queue settings the ACD applies with every strategy; see docs/communication.md.
"""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import HeapStrategy


class SkillsBased(HeapStrategy):
    def key(self, agent: Agent, now: float) -> tuple[int, float]:
        levels = agent.skills
        return -sum(levels.get(skill, 0) for skill in self.skills), agent.idle_since
