"""Provides the standard routing strategies through the ``caruso_routing_strategies`` hook."""
from __future__ import annotations

from caruso_core import hookimpl


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_routing_strategies() -> dict[str, type]:
    from caruso_comm.strategies.fewest_calls import FewestCalls
    from caruso_comm.strategies.least_talk_time import LeastTalkTime
    from caruso_comm.strategies.longest_idle import LongestIdle
    from caruso_comm.strategies.ring_all import RingAll
    from caruso_comm.strategies.round_robin import RoundRobinMemory
    from caruso_comm.strategies.skills_based import SkillsBased
    return {"longest_idle": LongestIdle, "round_robin": RoundRobinMemory,
            "fewest_calls": FewestCalls, "least_talk_time": LeastTalkTime,
            "ring_all": RingAll, "skills_based": SkillsBased}
