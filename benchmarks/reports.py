"""Reports: the incoming-calls report by hour and queue over a year of events on SQLite.

Data: one year (365 days, 8 hours a day, 3 queues with service-level targets of 20, 30 and
60 s, about 650 calls a day: answered, abandoned, transferred and overflowing to voicemail,
with agent state events), about 2 million rows in ``comm_events``, built once into a
temporary SQLite file (kept in the temp folder for later runs, rebuilt when missing).
Timed: the engine computing the built-in ``incoming-calls`` definition (rows returned
as plain data) against the single hand-written SQL query computing the same totals,
alternately, best of 3 each. Target: engine / hand-written <= 1.5.
"""
from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from caruso_comm.events import metadata
from caruso_reports import definition, engine

FILE = Path(tempfile.gettempdir()) / "caruso-benchmark-reports-v2.db"
YEAR_START = 1735689600.0   # 2025-01-01 00:00 UTC
DAYS = 365
CALLS_PER_DAY = 650
QUEUES = ("sales", "support", "billing")
TARGETS = {"sales": 20, "support": 30, "billing": 60}      # each queue's sl_target, as the server announces
AGENTS = [f"agent{n}" for n in range(12)]
ROUNDS = 3

HAND_WRITTEN = """
WITH first AS (SELECT min(id) FROM comm_events WHERE event = 'connect' GROUP BY interaction)
SELECT CAST(e.time / 3600 AS INTEGER) * 3600.0 AS hour,
       coalesce(e.queue, (SELECT h.queue FROM comm_events h
                          WHERE h.interaction = json_extract(e.data, '$.of') AND h.agent = e.agent
                            AND h.id < e.id AND h.event IN ('complete', 'transfer')
                          ORDER BY h.id DESC LIMIT 1)) AS queue_name,
       sum(e.event = 'enter' AND json_extract(e.data, '$.transfer_from') IS NULL
           AND json_extract(e.data, '$.overflow_from') IS NULL) AS offered,
       sum(e.event = 'connect' AND e.id IN first) AS answered,
       sum(e.event = 'abandon') AS abandoned,
       sum(e.event = 'abandon' AND json_extract(e.data, '$.wait') < 5) AS short_abandoned,
       sum(e.event = 'transfer') AS transferred,
       sum(e.event = 'overflow') AS overflowed,
       sum(e.event = 'connect' AND e.id IN first AND json_extract(e.data, '$.wait') <=
           CASE e.queue WHEN 'sales' THEN 20 WHEN 'support' THEN 30 WHEN 'billing' THEN 60 END) AS within,
       total(CASE WHEN e.event = 'connect' AND e.id IN first THEN json_extract(e.data, '$.wait') END) AS wait,
       sum(e.event = 'complete') AS completed,
       sum(e.event IN ('complete', 'transfer')) AS connections,
       total(CASE WHEN e.event IN ('complete', 'transfer') THEN json_extract(e.data, '$.talk') END) AS talk,
       total(CASE WHEN e.event = 'wrap_end' THEN json_extract(e.data, '$.seconds') END) AS wrap,
       max(CASE WHEN e.event IN ('connect', 'abandon') THEN json_extract(e.data, '$.wait') END) AS longest
FROM comm_events e
WHERE e.event IN ('enter', 'connect', 'abandon', 'transfer', 'overflow', 'complete', 'wrap_end')
GROUP BY 1, 2 HAVING queue_name IS NOT NULL ORDER BY 1, 2
"""


def _year(path: Path) -> int:
    """Write the year of events to ``path``; the number of rows."""
    rng = random.Random(6)
    rows: list[tuple] = []

    def add(when: float, event: str, interaction: str | None, queue: str | None, agent: str | None,
            **data) -> None:
        rows.append((when, interaction, queue, agent, event, json.dumps(data)))

    add(YEAR_START, "queues", None, None, None,
        queues=[{"name": name, "channel": "voice", "sl_target": target} for name, target in TARGETS.items()])
    call = 0
    for day in range(DAYS):
        opening = YEAR_START + day * 86400 + 8 * 3600
        for agent in AGENTS:
            add(opening, "agent_status", None, None, agent, status="available", reason="")
        arrival = opening
        for _ in range(CALLS_PER_DAY):
            call += 1
            arrival += rng.expovariate(CALLS_PER_DAY / (8 * 3600))
            name, queue, agent = f"c{call}", rng.choice(QUEUES), rng.choice(AGENTS)
            add(arrival, "enter", name, queue, None, channel="voice", direction="inbound",
                customer=f"k{call % 5000}", priority=0)
            wait, fate = rng.expovariate(1 / 15), rng.random()
            if fate < 0.02:
                add(arrival + 60, "overflow", name, queue, None, reason="max_wait", to="voicemail")
                add(arrival + 60, "voicemail", name, queue, None)
                continue
            if fate < 0.12:
                add(arrival + wait, "abandon", name, queue, None, reason="caller", wait=wait)
                continue
            now = arrival + wait
            add(now, "offer", name, queue, agent)
            add(now, "agent_state", None, None, agent, state="offered")
            add(now + 2, "connect", name, queue, agent, wait=wait + 2)
            add(now + 2, "agent_state", None, None, agent, state="busy")
            talk = rng.expovariate(1 / 200)
            end = now + 2 + talk
            if fate < 0.15:
                target = rng.choice([q for q in QUEUES if q != queue])
                add(end, "transfer", name, queue, agent, talk=talk, to_queue=target, to_agent=None)
                add(end, "enter", name, target, None, transfer_from=agent)
                other = rng.choice(AGENTS)
                add(end + 5, "offer", name, target, other)
                add(end + 7, "connect", name, target, other, wait=7.0)
                add(end + 67, "complete", name, target, other, talk=60.0, disposition="done")
                add(end + 67, "wrap_end", None, None, other, of=name, seconds=0.0)
            else:
                add(end, "complete", name, queue, agent, talk=talk, disposition="done")
            add(end, "agent_state", None, None, agent, state="wrap_up")
            add(end + 10, "wrap_end", None, None, agent, of=name, seconds=10.0)
            add(end + 10, "agent_state", None, None, agent, state="idle")
        for agent in AGENTS:
            add(opening + 8 * 3600, "agent_status", None, None, agent, status="logged_out", reason="")
    metadata.create_all(sa.create_engine(f"sqlite:///{path}"))
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO comm_events (time, interaction, queue, agent, event, data) "
                       "VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _close(mine: float | None, reference: float | None) -> bool:
    return mine == reference or (mine is not None and reference is not None
                                 and abs(mine - reference) <= 1e-6 * max(1.0, abs(reference)))


def _hand_written(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(HAND_WRITTEN).fetchall()


def run() -> dict:
    if not FILE.exists():
        started = time.perf_counter()
        building = FILE.with_suffix(".building")
        building.unlink(missing_ok=True)
        count = _year(building)
        building.rename(FILE)
        print(f"built {count:,} events in {time.perf_counter() - started:.1f} s into {FILE}", flush=True)
    with sqlite3.connect(FILE) as db:
        count = db.execute("SELECT count(*) FROM comm_events").fetchone()[0]
    calls = definition.load("incoming-calls")
    log = sa.create_engine(f"sqlite:///{FILE}")
    engine_times, reference_times = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        report = engine.compute(log, calls)
        engine_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        reference = _hand_written(FILE)
        reference_times.append(time.perf_counter() - started)
    log.dispose()
    assert len(report.rows) == len(reference), (len(report.rows), len(reference))
    for row, expected in zip(report.rows, reference):
        (_, queue, offered, answered, abandoned, short, transferred, overflowed, within, wait,
         completed, connections, talk, wrap, longest) = expected
        assert (row["queue"], row["offered"], row["answered"], row["abandoned"], row["short_abandoned"],
                row["transferred"], row["overflowed"]) == (queue, offered, answered, abandoned, short,
                                                           transferred, overflowed), (row, expected)
        assert _close(row["asa"], wait / answered if answered else None)
        assert _close(row["aht"], (talk + wrap) / completed if completed else None)
        assert _close(row["service_level_answered"], within / answered if answered else None)
        assert _close(row["longest_wait"], longest)
    mine, hand = min(engine_times), min(reference_times)
    ratio = mine / hand
    print(f"incoming-calls by hour over {count:,} events ({len(report.rows):,} rows): engine {mine:.2f} s, "
          f"hand-written SQL {hand:.2f} s; ratio {ratio:.2f} (target <= 1.5)", flush=True)
    return {"events": count, "rows": len(report.rows), "engine_seconds": round(mine, 3),
            "hand_written_seconds": round(hand, 3), "ratio": round(ratio, 3)}
