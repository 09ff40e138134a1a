"""Queueing checks shared by the Erlang tests: calls measured from the event log, and
agreement by batch means (four standard errors), which must also tell one agent fewer."""
from __future__ import annotations

import math
import statistics
from typing import Callable

from caruso_comm.simulator import Scenario, Simulation

AHT = 180.0
BATCHES = 25


def simulate_calls(agents: int, load: float, calls: int, seed: int,
                   patience: float | None = None) -> list[tuple[float, bool]]:
    """(time in queue, answered) per call in arrival order, after a warm-up of a tenth."""
    per_hour = load / AHT * 3600.0
    entered: dict[str, float] = {}
    outcomes: list[tuple[float, float, bool]] = []

    def sink(event):
        if event.event == "enter":
            entered[event.interaction] = event.time
        elif event.event in ("connect", "abandon"):
            start = entered[event.interaction]
            outcomes.append((start, event.time - start, event.event == "connect"))

    Simulation(Scenario(agents=agents, calls_per_hour=per_hour, aht=AHT, hours=calls / per_hour,
                        patience=patience, seed=seed), sink=sink).run()
    outcomes.sort()
    return [(wait, answered) for _, wait, answered in outcomes[len(outcomes) // 10:]]


def assert_agrees(calls: list[tuple[float, bool]], figures: dict[str, Callable[[list], float]],
                  expected: dict[str, float], fewer: dict[str, float], label: str) -> None:
    """Each figure's batch mean lies within 4 standard errors of ``expected`` and not of
    ``fewer`` (the model with one agent fewer)."""
    size = len(calls) // BATCHES
    batches = [calls[i * size:(i + 1) * size] for i in range(BATCHES)]
    for name, figure in figures.items():
        values = [figure(batch) for batch in batches]
        mean = statistics.fmean(values)
        tolerance = 4 * statistics.stdev(values) / math.sqrt(BATCHES)
        assert abs(mean - expected[name]) <= tolerance, \
            f"{name}: {mean:.4f} vs {label} {expected[name]:.4f} ± {tolerance:.4f}"
        assert abs(mean - fewer[name]) > tolerance, \
            f"{name}: the run cannot tell the model with one agent fewer (± {tolerance:.4f})"
