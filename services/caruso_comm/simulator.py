"""The ``sim`` channel: a discrete-event simulation of a call centre driving the real ACD.

Calls arrive as a Poisson process (none at 0 calls per hour: campaigns only); each is answered as soon as it is offered and
lasts a handling time drawn from an exponential distribution (mean ``aht``) or from
``handle_times`` (empirical samples); callers with ``patience`` hang up after an
exponential time if not yet connected. Agents work their shifts (seconds from the
start); an agent whose shift ends takes a break, finishes their call and logs out.
Arrivals stop after ``hours``; the run ends when the last call has ended.
"""
from __future__ import annotations

import math
import random
from typing import Any, Callable

import attrs

from caruso_core.errors import ConfigError

from caruso_comm.acd import ACD
from caruso_comm.events import OFFER, Event
from caruso_comm.model import Escalation, Interaction, InteractionState, Queue
from caruso_comm.stats import Tally
from caruso_comm.timers import Timers, VirtualClock

QUEUE = "sim"
ALWAYS = ((0.0, math.inf),)


@attrs.frozen
class SimAgent:
    """An agent of the simulation and the shifts (start, end) they work."""

    id: str
    skills: dict[str, int] = attrs.field(factory=dict)
    shifts: tuple[tuple[float, float], ...] = ALWAYS


@attrs.frozen
class Scenario:
    """What to simulate; ``agents`` is a head count or a list of :class:`SimAgent`."""

    agents: int | tuple[SimAgent, ...]
    calls_per_hour: float
    aht: float
    hours: float
    patience: float | None = None
    handle_times: tuple[float, ...] = ()
    sl_target: float = 20.0
    strategy: str = "longest_idle"
    skills: dict[str, int] = attrs.field(factory=dict)
    wrap_up: float = 0.0
    escalation: tuple[Escalation, ...] = ()
    seed: int = 0
    start: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.calls_per_hour < 0 or self.aht <= 0 or self.hours <= 0:
            raise ConfigError("simulation needs AHT and hours greater than 0 and calls per hour "
                              "not below 0")
        if self.patience is not None and self.patience <= 0:
            raise ConfigError("patience must be greater than 0 seconds (or no abandon)")
        if isinstance(self.agents, int) and self.agents < 1:
            raise ConfigError("simulation needs at least one agent")

    def roster(self) -> tuple[SimAgent, ...]:
        if isinstance(self.agents, int):
            return tuple(SimAgent(f"agent{n}", dict(self.skills)) for n in range(1, self.agents + 1))
        return tuple(self.agents)


class Simulation:
    """One run of a :class:`Scenario`; every event also goes to ``sink`` if given and to
    every callable added to ``observers`` before :meth:`run`."""

    def __init__(self, scenario: Scenario, sink: Callable[[Event], None] | None = None) -> None:
        self.scenario = scenario
        self.random = random.Random(scenario.seed)
        self.clock = VirtualClock(scenario.start)
        self.timers = Timers(self.clock)
        self.tally = Tally(scenario.sl_target)
        self.observers: list[Callable[[Event], None]] = [self.tally] + ([sink] if sink else [])
        self.acd = ACD(self.timers, self._observe)
        self.acd.add_queue(Queue(QUEUE, strategy=scenario.strategy, skills=scenario.skills,
                                 sl_target=scenario.sl_target, wrap_up=scenario.wrap_up,
                                 escalation=scenario.escalation, max_no_answer=0))
        self._leaving: set[str] = set()
        self._calls = 0
        self._end_of_arrivals = scenario.start + scenario.hours * 3600.0

    def _observe(self, event: Event) -> None:
        for observer in self.observers:
            observer(event)
        if event.event == OFFER:
            self.timers.at(event.time, self._answer, event.agent, event.interaction)

    def run(self) -> dict[str, Any]:
        """Simulate to the end; the figures of :class:`~caruso_comm.stats.Tally`."""
        start = self.scenario.start
        for agent in self.scenario.roster():
            for begin, end in agent.shifts:
                self.timers.at(start + begin, self._shift_start, agent)
                if end != math.inf:
                    self.timers.at(start + end, self._shift_end, agent.id)
        self._schedule_arrival()
        timers, clock = self.timers, self.clock
        while (due := timers.next_time()) is not None:
            clock.now = due
            timers.run_due(due)
        for agent_id, agent in sorted(self.acd.agents.items()):
            if agent.status != "logged_out":
                self.acd.logout(agent_id)
        return self.tally.results(clock.now)

    def _schedule_arrival(self) -> None:
        if not self.scenario.calls_per_hour:
            return
        when = self.clock.now + self.random.expovariate(self.scenario.calls_per_hour / 3600.0)
        if when < self._end_of_arrivals:
            self.timers.at(when, self._arrive)

    def _arrive(self) -> None:
        self._calls += 1
        call = self.acd.arrive(QUEUE, id=f"call{self._calls}", customer=f"caller{self._calls}")
        if self.scenario.patience is not None and call.state != InteractionState.ABANDONED:
            self.timers.at(self.clock.now + self.random.expovariate(1.0 / self.scenario.patience),
                           self._hang_up, call)
        self._schedule_arrival()

    def _hang_up(self, call: Interaction) -> None:
        if call.state in (InteractionState.WAITING, InteractionState.OFFERED):
            self.acd.abandon(call.id)

    def _answer(self, agent_id: str, call_id: str) -> None:
        if call_id in self.acd.agents[agent_id].offers:
            self.acd.accept(agent_id, call_id)
            handle = (self.random.choice(self.scenario.handle_times) if self.scenario.handle_times
                      else self.random.expovariate(1.0 / self.scenario.aht))
            self.timers.at(self.clock.now + handle, self._finish, agent_id, call_id)

    def _finish(self, agent_id: str, call_id: str) -> None:
        if call_id in self.acd.agents[agent_id].connected:
            self.acd.complete(agent_id, call_id, "handled")
        if agent_id in self._leaving and not self.acd.agents[agent_id].connected:
            self._leaving.discard(agent_id)
            self.acd.logout(agent_id)

    def _shift_start(self, agent: SimAgent) -> None:
        self._leaving.discard(agent.id)
        self.acd.login(agent.id, skills=agent.skills)

    def _shift_end(self, agent_id: str) -> None:
        agent = self.acd.agents[agent_id]
        if agent.connected:
            self.acd.set_status(agent_id, "break", "end of shift")
            self._leaving.add(agent_id)
        else:
            self.acd.logout(agent_id)
