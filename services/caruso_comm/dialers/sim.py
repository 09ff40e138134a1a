"""The ``sim`` dialer: the simulated telephone network campaigns dial through in tests,
demos and planning (no telephony needed)."""
from __future__ import annotations

import random
from typing import Any

from caruso_comm.dialer import Report
from caruso_comm.timers import Timers


class SimDialer:
    """The simulated telephone network for campaigns: a call is answered with probability
    ``answer_rate`` after an exponential ring (mean ``ring``), else it is busy (``busy_rate``)
    after ``busy_after`` seconds or not answered after ``no_answer_after`` seconds."""

    def __init__(self, timers: Timers, answer_rate: float = 0.3, busy_rate: float = 0.1, ring: float = 12.0,
                 no_answer_after: float = 25.0, busy_after: float = 3.0, seed: int = 0) -> None:
        self.timers, self.seed, self.random = timers, seed, random.Random(seed)
        self.answer_rate, self.busy_rate = answer_rate, busy_rate
        self.ring, self.no_answer_after, self.busy_after = ring, no_answer_after, busy_after
        self.dialed: list[str] = []
        self._pending: dict[str, tuple[float, str]] = {}   # call -> (report time, result)

    def settings(self) -> dict[str, float]:
        return {"answer_rate": self.answer_rate, "busy_rate": self.busy_rate, "ring": self.ring,
                "no_answer_after": self.no_answer_after, "busy_after": self.busy_after, "seed": self.seed}

    def dial(self, call: str, number: str, report: Report) -> None:
        self.dialed.append(number)
        draw = self.random.random()
        if draw < self.answer_rate:
            delay, result = self.random.expovariate(1.0 / self.ring), "answered"
        elif draw < self.answer_rate + self.busy_rate:
            delay, result = self.busy_after, "busy"
        else:
            delay, result = self.no_answer_after, "no_answer"
        self._expect(call, self.timers.now() + delay, result, report)

    def _expect(self, call: str, time: float, result: str, report: Report) -> None:
        self._pending[call] = (time, result)
        self.timers.at(time, self._report, call, report)

    def _report(self, call: str, report: Report) -> None:
        _, result = self._pending.pop(call)
        report(call, result)

    def export_state(self) -> dict[str, Any]:
        """The random generator's state and the calls not reported yet, as plain data."""
        version, internal, gauss = self.random.getstate()
        return {"random": [version, list(internal), gauss],
                "calls": [[call, time, result] for call, (time, result) in self._pending.items()]}

    def import_state(self, state: dict[str, Any], report: Report) -> None:
        """Go on from :meth:`export_state` of another dialer: its calls report to ``report``
        (without ``random``, this dialer's generator goes on as it is)."""
        if state.get("random"):
            version, internal, gauss = state["random"]
            self.random.setstate((version, tuple(internal), gauss))
        for call, time, result in state["calls"]:
            self._expect(call, time, result, report)
