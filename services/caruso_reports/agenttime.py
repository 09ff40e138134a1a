"""Agent times: seconds each agent spent logged in, available, ringing, busy, in wrap-up
and on break, from ``agent_status`` and ``agent_state`` events.

A logged-in agent is in exactly one of: ``busy`` (state busy), ``ringing`` (state
offered), ``wrap_up`` (state wrap_up), ``available`` (idle, status available) or
``break`` (idle, status break); ``logged_in`` is their sum. Time is split at period
boundaries and clipped to the report's range; the state at the range's start comes
from the last events before it. A range reaching past now ends now, and so does a range
without an end: a state still open counts up to now, never the time that has not happened
yet nor only up to the log's last event. The database selects the
events; the intervals are summed here, streaming in append order.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import attrs
import sqlalchemy as sa

from caruso_comm.events import AGENT_STATE, AGENT_STATUS, table as events
from caruso_reports.periods import Period

STATES = ("available", "ringing", "busy", "wrap_up", "break")
AGENT_EVENTS = (AGENT_STATUS, AGENT_STATE)
BY_STATE = {"busy": "busy", "offered": "ringing", "wrap_up": "wrap_up"}

Key = tuple[float | None, str | None]
VALUE = sa.case((events.c.event == AGENT_STATUS, events.c.data["status"].as_string()),
                else_=events.c.data["state"].as_string())     # the status or state an agent event sets


@attrs.define
class _Agent:
    status: str = "logged_out"
    state: str = "idle"
    since: float = 0.0

    def category(self) -> str | None:
        if self.status == "logged_out":
            return None
        return BY_STATE.get(self.state) or ("available" if self.status == "available" else "break")


class AgentTimes:
    """Sums agent times by (period start or None, agent or None)."""

    def __init__(self, period: Period | None, by_agent: bool) -> None:
        self.period = period
        self.by_agent = by_agent
        self.totals: dict[Key, dict[str, float]] = defaultdict(lambda: dict.fromkeys(("logged_in", *STATES), 0.0))
        self._agents: dict[str, _Agent] = defaultdict(_Agent)

    def start_from(self, agent: str, event: str, value: str, time: float) -> None:
        """Set an agent's status or state as it was at ``time`` without counting time."""
        record = self._agents[agent]
        if event == AGENT_STATUS:
            record.status = value
        else:
            record.state = value
        record.since = time

    def apply(self, agent: str, event: str, value: str, time: float) -> None:
        """Count the agent's time up to ``time``, then take the new status or state."""
        self._account(agent, time)
        self.start_from(agent, event, value, time)

    def close(self, end: float) -> dict[Key, dict[str, float]]:
        """Count every open interval up to ``end``; the sums."""
        for agent in list(self._agents):
            self._account(agent, end)
        return dict(self.totals)

    def _account(self, agent: str, until: float) -> None:
        record = self._agents[agent]
        category = record.category()
        moment = record.since
        record.since = until
        if category is None:
            return
        who = agent if self.by_agent else None
        while moment < until:
            if self.period is None:
                bucket, boundary = None, until
            else:
                bucket = self.period.start(moment)
                boundary = min(until, self.period.following(bucket))
            sums = self.totals[(bucket, who)]
            sums[category] += boundary - moment
            sums["logged_in"] += boundary - moment
            moment = boundary


def compute(connection: sa.Connection, conditions: Iterable[sa.ColumnElement], start: float | None,
            end: float | None, period: Period | None, by_agent: bool, now: float) -> dict[Key, dict[str, float]]:
    """Agent times over ``[start, end)`` of the agents selected by ``conditions`` (on
    :data:`caruso_comm.events.table`), as they are at ``now``: the range ends at the earlier
    of ``end`` and ``now``; without ``end`` it ends at ``now`` (an agent logged in with no
    event since counts up to now, not up to the log's last event)."""
    conditions = [events.c.event.in_(AGENT_EVENTS), *conditions]
    end = now if end is None else min(end, now)    # nothing later has happened
    times = AgentTimes(period, by_agent)
    if start is not None:
        latest = (sa.select(sa.func.max(events.c.id)).where(*conditions, events.c.time < start)
                  .group_by(events.c.agent, events.c.event))
        for agent, event, value in connection.execute(
                sa.select(events.c.agent, events.c.event, VALUE).where(events.c.id.in_(latest))):
            times.start_from(agent, event, value, start)
    window = list(conditions)
    if start is not None:
        window.append(events.c.time >= start)
    window.append(events.c.time < end)
    query = sa.select(events.c.agent, events.c.event, VALUE, events.c.time).where(*window).order_by(events.c.id)
    for agent, event, value, time in connection.execution_options(yield_per=5000).execute(query):
        times.apply(agent, event, value, time)
    return times.close(end)

