"""Interactions a restart of the communication server ended (``abandon`` with reason
``restart``: nobody hung up) are offered but not abandoned in reports."""
from __future__ import annotations

import attrs
import sqlalchemy as sa

from caruso_comm.acd import ACD
from caruso_comm.eventlog import EventLog
from caruso_comm.model import Queue
from caruso_comm.timers import Timers, VirtualClock
from caruso_reports import definition, engine

START = 1_796_000_000.0


def test_interactions_ended_by_a_restart_are_offered_but_not_abandoned(tmp_path):
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    clock = VirtualClock(START)
    log = EventLog(url)
    acd = ACD(Timers(clock), log)
    acd.add_queue(Queue("sales"))
    for interaction in ("left", "lost", "lost-early"):
        acd.arrive("sales", id=interaction)
    clock.now += 2
    acd.abandon("lost-early", "restart")                 # would be a short abandon
    clock.now += 30
    acd.abandon("left")                                  # the caller hung up
    acd.abandon("lost", "restart")
    log.close()
    checked = definition.check(attrs.evolve(definition.load("incoming-calls"), dimensions=("queue",)), "test")
    database = sa.create_engine(url)
    try:
        [sales] = list(engine.compute(database, checked).rows)
    finally:
        database.dispose()
    assert (sales["offered"], sales["abandoned"], sales["short_abandoned"]) == (3, 1, 0)
