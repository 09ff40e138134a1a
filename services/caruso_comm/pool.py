"""A pool: the agents meeting one skill requirement on one channel, and who waits for them.

Each queue has a base pool (its own requirement) and one pool per escalation step
that relaxes the requirement. An agent belongs to every pool whose requirement it
meets; a waiting interaction listens to the pools of its current escalation stage.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Mapping, NamedTuple

from caruso_comm import heaps
from caruso_comm.model import Agent, Interaction, InteractionState
from caruso_comm.routing import Strategy


class Waiting(NamedTuple):
    """An interaction waiting in a pool. ``rank`` orders service across pools: queue
    priority, interaction priority (both negated: highest first), time in queue; ``order``
    breaks ties within the pool; the entry is stale once the interaction's ``token`` moved
    on (it was offered, overflowed, escalated, ended)."""

    rank: tuple[int, int, float]
    order: int
    token: int
    interaction: Interaction

    def stale(self) -> bool:
        return self.interaction.state != InteractionState.WAITING or self.interaction.token != self.token


class Pool:
    """Ready agents ordered by ``strategy``; waiting interactions ordered by queue priority,
    interaction priority, then time in queue."""

    def __init__(self, channel: str, skills: Mapping[str, int], strategy: Strategy) -> None:
        self.channel = channel
        self.skills = dict(skills)
        self.strategy = strategy
        self.members: set[str] = set()
        self._waiting: list[Waiting] = []
        self._counter = itertools.count()

    def matches(self, agent: Agent) -> bool:
        """Whether ``agent`` has the channel and every required skill at its level."""
        levels = agent.skills
        return agent.capacity.get(self.channel, 0) > 0 and all(
            levels.get(skill, -1) >= level for skill, level in self.skills.items())

    def wait(self, interaction: Interaction, queue_priority: int) -> None:
        """``interaction`` (in state waiting, with its current token) listens to this pool."""
        rank = (-queue_priority, -interaction.priority, interaction.entered)
        heapq.heappush(self._waiting, Waiting(rank, next(self._counter), interaction.token, interaction))

    def first_for(self, agent: Agent) -> Waiting | None:
        """The best waiting interaction ``agent`` may take (it stays waiting here)."""
        return heaps.first(self._waiting, Waiting.stale, lambda e: agent.id in e.interaction.declined)
