"""The simulator agrees with Erlang C without abandons and with Erlang A with patience.

Both models are computed here, independently of the package; waits come from the
event log (enter to connect or abandon); agreement is judged by batch means.
"""
from __future__ import annotations

import math
import statistics

import pytest

from comm_batches import AHT, assert_agrees, simulate_calls

TARGET = 20.0


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


def erlang_a(agents: int, load: float, patience: float) -> dict[str, float]:
    """Probability of waiting, of abandoning, and mean time in queue of M/M/N+M, from the
    birth-death chain of the number of calls in the system (truncated when negligible)."""
    arrival, service, leave = load / AHT, 1.0 / AHT, 1.0 / patience
    weights, weight, n = [1.0], 1.0, 0
    while n < agents or weight > 1e-15 * sum(weights):
        n += 1
        weight *= arrival / (min(n, agents) * service + max(0, n - agents) * leave)
        weights.append(weight)
    total = sum(weights)
    p_wait = sum(weights[agents:]) / total
    queued = sum((k - agents) * w for k, w in enumerate(weights) if k > agents) / total
    return {"p_wait": p_wait, "p_abandon": leave * queued / arrival, "time_in_queue": queued / arrival}


@pytest.mark.parametrize("agents, load, calls", [(3, 2.0, 40_000), (8, 6.5, 50_000), (20, 17.0, 60_000)])
def test_without_abandons_the_simulator_agrees_with_erlang_c(agents, load, calls):
    figures = {"p_wait": lambda b: sum(w > 0 for w, _ in b) / len(b),
               "service_level": lambda b: sum(w <= TARGET for w, _ in b) / len(b),
               "asa": lambda b: statistics.fmean(w for w, _ in b)}
    assert_agrees(simulate_calls(agents, load, calls, seed=agents), figures,
                  erlang_c(agents, load), erlang_c(agents - 1, load), "Erlang C")


@pytest.mark.parametrize("agents, load, patience, calls", [(5, 5.5, 120.0, 40_000), (12, 11.0, 300.0, 60_000)])
def test_with_patience_the_simulator_agrees_with_erlang_a(agents, load, patience, calls):
    figures = {"p_wait": lambda b: sum(w > 0 for w, _ in b) / len(b),
               "p_abandon": lambda b: sum(not answered for _, answered in b) / len(b),
               "time_in_queue": lambda b: statistics.fmean(w for w, _ in b)}
    assert_agrees(simulate_calls(agents, load, calls, seed=agents, patience=patience), figures,
                  erlang_a(agents, load, patience), erlang_a(agents - 1, load, patience), "Erlang A")


def test_erlang_a_without_abandons_is_erlang_c():
    patient = erlang_a(8, 6.5, patience=1e12)
    assert patient["p_wait"] == pytest.approx(erlang_c(8, 6.5)["p_wait"], rel=1e-6)
    assert patient["time_in_queue"] == pytest.approx(erlang_c(8, 6.5)["asa"], rel=1e-6)
