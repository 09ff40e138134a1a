"""Ring all: every ready agent is offered the interaction at once; the first to accept gets it."""
from __future__ import annotations

from caruso_comm.model import Agent
from caruso_comm.routing import RankedIdleStrategy


class RingAll(RankedIdleStrategy):
    ring_all = True

    def rank(self, agent: Agent) -> int:
        return 0
