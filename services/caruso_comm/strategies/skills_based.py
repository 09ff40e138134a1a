"""Skills-based: the agent with the highest levels in the pool's required skills; ties by longest idle.

Interaction priorities and time-based escalation (relaxed levels, other queues) are
queue settings the ACD applies with every strategy; see docs/communication.md.
"""
from __future__ import annotations

import itertools

from caruso_comm.model import Agent
from caruso_comm.routing import RankedIdleStrategy


class SkillsBased(RankedIdleStrategy):
    def __init__(self, skills: dict[str, int]) -> None:
        super().__init__(skills)
        self._names = tuple(self.skills)

    def rank(self, agent: Agent) -> int:
        return -sum(map(agent.skills.get, self._names, itertools.repeat(0)))
