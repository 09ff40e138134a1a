"""Communication server: skills-based routing decisions per second, and a simulated day.

- routing: 10,000 agents with 5 of 100 skills each (levels 1-5), 100 skills-based
  queues; each interaction arrives in a random queue and is offered to an agent (the
  decision, timed), then accepted and completed, and the timers due are run as on the
  server (the offer timeouts of accepted offers do nothing); those are timed as part of
  the whole cycle. So every decision chooses among ready agents. Best of 25 interleaved rounds of 2,000 (fair under
  background load). Run twice: the bare ACD, and with the server's write-behind of its
  model to storage noting each change (``CommRecords.observe``; the records are built by
  ``collect`` once per round, counted in the whole cycles; the writer's conversion and
  sending, off the routing path, go to a storage stand-in outside the timing).
  Reference: heap push and pop of as many items (target: at least 50,000 decisions/s).
- day: an 8-hour day of 180 agents at 90% occupancy on the simulator (target: < 5 s).
  Reference: a bare heap event loop running as many timer events.
"""
from __future__ import annotations

import heapq
import random
import time

from caruso_comm.acd import ACD
from caruso_comm.model import Queue
from caruso_comm.records import CommRecords
from caruso_comm.simulator import Scenario, Simulation
from caruso_comm.timers import Timers, VirtualClock

AGENTS = 10_000
QUEUES = 100
DECISIONS = 50_000
ROUNDS = 25
DAY_AGENTS = 180
AHT = 300.0


def _heap_reference(count: int) -> float:
    """Seconds to push and pop ``count`` random items on a heap."""
    rng = random.Random(0)
    items = [(rng.random(), n) for n in range(count)]
    heap: list = []
    started = time.perf_counter()
    for item in items:
        heapq.heappush(heap, item)
    while heap:
        heapq.heappop(heap)
    return time.perf_counter() - started


class _Discard:
    """Stands in for the storage service: takes batches and keeps nothing."""

    def apply(self, operations: list, results: str = "records") -> int:
        return len(operations)


def _routing(with_records: bool) -> dict:
    rng = random.Random(1)
    clock = VirtualClock()
    offers: list[tuple[str, str]] = []

    def sink(event) -> None:
        if event.event == "offer":
            offers.append((event.agent, event.interaction))
        if records is not None:
            records.observe(event)

    acd = ACD(Timers(clock), sink)
    storage = _Discard()
    records = CommRecords(acd, lambda: storage) if with_records else None
    for q in range(QUEUES):
        acd.add_queue(Queue(f"q{q}", strategy="skills_based", skills={f"s{q}": 1}))
    for a in range(AGENTS):
        skills = {f"s{s}": rng.randint(1, 5) for s in rng.sample(range(QUEUES), 5)}
        acd.login(f"a{a}", skills=skills)
    rate = cycles = reference = 0.0
    for round_ in range(ROUNDS):
        queues = [f"q{rng.randrange(QUEUES)}" for _ in range(DECISIONS // ROUNDS)]
        deciding = cycling = 0.0
        for n, queue in enumerate(queues, start=round_ * len(queues)):
            clock.now = n * 0.01
            started = time.perf_counter()
            acd.arrive(queue, id=str(n))
            decided = time.perf_counter()
            agent, interaction = offers.pop()
            acd.accept(agent, interaction)
            acd.complete(agent, interaction)
            acd.timers.run_due(clock.now)
            deciding += decided - started
            cycling += time.perf_counter() - started
        if records is not None:
            started = time.perf_counter()
            records.collect()
            cycling += time.perf_counter() - started
            records.flush()
        rate, cycles = max(rate, len(queues) / deciding), max(cycles, len(queues) / cycling)
        reference = max(reference, len(queues) / _heap_reference(len(queues)))
    label, suffix = ("routing with model records", "_with_records") if with_records else ("routing", "")
    print(f"{label}: {rate:,.0f} decisions/s (arrival to offer; target 50,000) with {AGENTS} agents, "
          f"{QUEUES} queues; {cycles:,.0f} whole cycles/s (with accept and complete); "
          f"heap push+pop {reference:,.0f} items/s; ratio {rate / reference:.3f}", flush=True)
    return {f"decisions_per_second{suffix}": round(rate), f"cycles_per_second{suffix}": round(cycles),
            f"heap_items_per_second{suffix}": round(reference), f"routing_ratio{suffix}": round(rate / reference, 4)}


def _day() -> dict:
    events = 0

    def count(_event) -> None:
        nonlocal events
        events += 1

    scenario = Scenario(agents=DAY_AGENTS, calls_per_hour=0.9 * DAY_AGENTS * 3600 / AHT, aht=AHT,
                        hours=8, seed=1)
    started = time.perf_counter()
    figures = Simulation(scenario, sink=count).run()
    elapsed = time.perf_counter() - started
    reference = _heap_reference(events)
    print(f"day: 180 agents, 8 h, {figures['offered']} calls, occupancy {figures['occupancy']:.3f}, "
          f"{events} events in {elapsed:.2f} s (target < 5 s); bare heap of as many events "
          f"{reference:.3f} s; ratio {elapsed / reference:.1f}", flush=True)
    return {"day_seconds": round(elapsed, 3), "day_calls": figures["offered"], "day_events": events,
            "day_occupancy": round(figures["occupancy"], 4),
            "day_vs_bare_heap_ratio": round(elapsed / reference, 2)}


def run() -> dict:
    return {**_routing(False), **_routing(True), **_day()}
