"""A desk: an ACD on a virtual clock whose events are kept in a list."""
from __future__ import annotations

import pytest

from caruso_comm.acd import ACD
from caruso_comm.events import Event
from caruso_comm.timers import Timers, VirtualClock


class Desk:
    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.timers = Timers(self.clock)
        self.events: list[Event] = []
        self.acd = ACD(self.timers, self.events.append)

    def swap(self) -> None:
        """Hand the ACD's state to a new ACD with its own timers (the old ones are dropped),
        as a hot-swap does."""
        state = self.acd.export_state()
        self.timers = Timers(self.clock)
        self.acd = ACD(self.timers, self.events.append)
        self.acd.import_state(state)

    def advance(self, seconds: float) -> None:
        """Move the clock forward, running every timer due on the way."""
        end = self.clock.now + seconds
        while (due := self.timers.next_time()) is not None and due <= end:
            self.clock.now = due
            self.timers.run_due(due)
        self.clock.now = end

    def named(self, name: str, **fields) -> list[Event]:
        return [e for e in self.events if e.event == name
                and all(getattr(e, k) == v for k, v in fields.items())]

    def offered_to(self, interaction: str) -> list[str]:
        return [e.agent for e in self.named("offer", interaction=interaction)]


@pytest.fixture
def desk() -> Desk:
    return Desk()
