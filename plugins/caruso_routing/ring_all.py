"""Ring all: every ready agent is offered the interaction at once; the first to accept gets it."""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import HeapStrategy


class RingAll(HeapStrategy):
    ring_all = True

    def key(self, agent: Agent, now: float) -> float:
        return agent.idle_since
