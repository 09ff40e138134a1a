"""Call-centre figures computed from events only (the same input reports use).

``offered`` counts interactions entering their first queue; ``answered`` those
connected at least once (``asa_seconds`` and ``service_level`` use the wait before
the first connect); ``abandoned`` every ``abandon`` event (callers and full queues) but those with reason
``restart`` (nobody left: a restart of the server ended them);
``aht_seconds`` is talk plus wrap-up per completed interaction; ``occupancy`` is the
agents' time with an interaction (offered, busy, wrap-up) over their time available
or with an interaction.
"""
from __future__ import annotations

from typing import Any

from caruso_comm.events import (ABANDON, AGENT_STATE, AGENT_STATUS, COMPLETE, CONNECT, ENTER, RESTART, TRANSFER,
                                WRAP_END, Event)
from caruso_comm.model import AgentState, AgentStatus


class _AgentClock:
    __slots__ = ("available", "occupied", "since")

    def __init__(self, now: float) -> None:
        self.available = False
        self.occupied = False
        self.since = now


class Tally:
    """Feed it every event in order (``tally(event)``); read :meth:`results`."""

    def __init__(self, sl_target: float) -> None:
        self.sl_target = sl_target
        self.offered = self.answered = self.abandoned = self.within_target = self.completed = 0
        self.total_wait = self.handle_time = self.staffed_time = self.occupied_time = 0.0
        self._connected: set[str] = set()
        self._agents: dict[str, _AgentClock] = {}
        self._handlers = {ENTER: self._enter, CONNECT: self._connect, ABANDON: self._abandon,
                          COMPLETE: self._complete, TRANSFER: self._talk, WRAP_END: self._wrap_end,
                          AGENT_STATUS: self._agent_status, AGENT_STATE: self._agent_state}

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(event.event)
        if handler is not None:
            handler(event)

    def _enter(self, event: Event) -> None:
        if "transfer_from" not in event.data and "overflow_from" not in event.data:
            self.offered += 1

    def _connect(self, event: Event) -> None:
        if event.interaction not in self._connected:
            self._connected.add(event.interaction)
            self.answered += 1
            wait = event.data["wait"]
            self.total_wait += wait
            self.within_target += wait <= self.sl_target

    def _abandon(self, event: Event) -> None:
        self.abandoned += event.data.get("reason") != RESTART

    def _complete(self, event: Event) -> None:
        self.completed += 1
        self._connected.discard(event.interaction)
        self._talk(event)

    def _talk(self, event: Event) -> None:
        self.handle_time += event.data["talk"]

    def _wrap_end(self, event: Event) -> None:
        self.handle_time += event.data["seconds"]

    def _clock(self, event: Event) -> _AgentClock:
        clock = self._agents.get(event.agent)
        if clock is None:
            clock = self._agents[event.agent] = _AgentClock(event.time)
        self._account(clock, event.time)
        return clock

    def _account(self, clock: _AgentClock, now: float) -> None:
        elapsed = now - clock.since
        clock.since = now
        if clock.occupied:
            self.occupied_time += elapsed
        if clock.occupied or clock.available:
            self.staffed_time += elapsed

    def _agent_status(self, event: Event) -> None:
        self._clock(event).available = event.data["status"] == AgentStatus.AVAILABLE

    def _agent_state(self, event: Event) -> None:
        self._clock(event).occupied = event.data["state"] != AgentState.IDLE

    def results(self, now: float) -> dict[str, Any]:
        """The figures with agents' open time counted up to ``now``."""
        for clock in self._agents.values():
            self._account(clock, now)
        return {"offered": self.offered, "answered": self.answered, "abandoned": self.abandoned,
                "service_level": self.within_target / self.answered if self.answered else None,
                "asa_seconds": self.total_wait / self.answered if self.answered else None,
                "aht_seconds": self.handle_time / self.completed if self.completed else None,
                "occupancy": self.occupied_time / self.staffed_time if self.staffed_time else None}
