"""The simulator without abandons agrees with Erlang C (computed here, independently).

Waits are measured from the event log (enter to first connect). After a warm-up of a
tenth of the calls the run is cut into batches; a figure agrees when the mean of its
batch values lies within four standard errors of Erlang C. The same tolerance must
reject Erlang C for one agent fewer, so a run too short to tell fails too.
"""
from __future__ import annotations

import math
import statistics

import pytest

from caruso_comm.simulator import Scenario, Simulation

AHT = 180.0
TARGET = 20.0
BATCHES = 25


def erlang_c(agents: int, load: float) -> dict[str, float]:
    """Probability of waiting, service level at TARGET and ASA of M/M/N with ``load`` erlangs."""
    if load >= agents:
        return {"p_wait": 1.0, "service_level": 0.0, "asa": math.inf}
    term, below = 1.0, 1.0
    for k in range(1, agents):
        term *= load / k
        below += term
    top = term * load / agents * agents / (agents - load)
    p_wait = top / (below + top)
    rate = (agents - load) / AHT
    return {"p_wait": p_wait, "service_level": 1 - p_wait * math.exp(-rate * TARGET),
            "asa": p_wait / rate}


def _waits(agents: int, load: float, calls: int, seed: int) -> list[float]:
    per_hour = load / AHT * 3600.0
    entered: dict[str, float] = {}
    waits: list[tuple[float, float]] = []

    def sink(event):
        if event.event == "enter":
            entered[event.interaction] = event.time
        elif event.event == "connect":
            waits.append((entered[event.interaction], event.time - entered[event.interaction]))

    Simulation(Scenario(agents=agents, calls_per_hour=per_hour, aht=AHT,
                        hours=calls / per_hour, sl_target=TARGET, seed=seed), sink=sink).run()
    waits.sort()
    return [wait for _, wait in waits[len(waits) // 10:]]


@pytest.mark.parametrize("agents, load, calls", [(3, 2.0, 40_000), (8, 6.5, 60_000), (20, 17.0, 80_000)])
def test_waiting_probability_service_level_and_asa_agree_with_erlang_c(agents, load, calls):
    waits = _waits(agents, load, calls, seed=agents)
    size = len(waits) // BATCHES
    batches = [waits[i * size:(i + 1) * size] for i in range(BATCHES)]
    measured = {"p_wait": [sum(w > 0 for w in b) / len(b) for b in batches],
                "service_level": [sum(w <= TARGET for w in b) / len(b) for b in batches],
                "asa": [statistics.fmean(b) for b in batches]}
    expected, fewer = erlang_c(agents, load), erlang_c(agents - 1, load)
    for name, values in measured.items():
        mean = statistics.fmean(values)
        tolerance = 4 * statistics.stdev(values) / math.sqrt(BATCHES)
        assert abs(mean - expected[name]) <= tolerance, \
            f"{name}: {mean:.4f} vs Erlang C {expected[name]:.4f} ± {tolerance:.4f}"
        assert abs(mean - fewer[name]) > tolerance, \
            f"{name}: the run cannot tell {agents} agents from {agents - 1} (± {tolerance:.4f})"
