"""The report engine: computes a :class:`~caruso_reports.definition.Definition` over the
event log.

Interaction measures are one aggregate query grouped by the definition's dimensions
(the database does the work); agent times are summed from the agent events the
database selects (:mod:`caruso_reports.agenttime`). Rows exist for the dimension values
that have events; a range without events gives an empty report. A ``wrap_end`` event
names no queue: its wrap-up counts in the queue where the same agent last completed or
transferred that interaction. A ``customer.NAME`` dimension groups by the customer of each
interaction in SQL, then by that customer's attribute as ``shown`` gives it
(:mod:`caruso_reports.customers`).
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa

from caruso_comm.events import COMPLETE, CONNECT, DIAL, ENTER, QUEUES, TRANSFER, table as events
from caruso_core.errors import ConfigError

from caruso_reports import agenttime, customers
from caruso_reports.definition import EACH_QUEUE, Definition
from caruso_reports.measures import AGENTS, CATALOGUE
from caruso_reports.periods import QUARTER, UTC, Period, sql_start
from caruso_reports.report import Report
from caruso_reports.tallies import TALLIES, Scope, merge

Key = tuple[Any, ...]
MISSING = {"longest_wait": None}   # a tally's value where a row has no such events (else 0)
DEFAULT_SL_TARGET = 20.0           # a queue's sl_target unless configured (caruso_comm.model.Queue)


def compute(engine: sa.Engine, definition: Definition, shown: customers.Shown | None = None,
            now: float | None = None) -> Report:
    """The report of ``definition`` over the event log reached by ``engine`` as it stands at
    ``now`` (default: the clock's now; agent times end there, also those of a range without
    an end); ``shown`` gives the customers' attributes of ``customer.NAME`` dimensions
    (ConfigError without it)."""
    by_customer = {d: name for d in definition.dimensions if (name := customers.attribute(d)) is not None}
    if by_customer and shown is None:
        raise ConfigError(f"dimension {next(iter(by_customer))} needs the customers of the storage service: "
                          "run the report through the reports service (without --db)")
    measures = [CATALOGUE[name] for name in definition.measures]
    needed = {tally for m in measures for tally in m.tallies}
    tallies: dict[Key, dict[str, Any]] = {}
    with engine.connect() as connection:
        interaction_tallies = sorted(needed & set(TALLIES))
        if interaction_tallies:
            _merge(tallies, _interaction_tallies(connection, definition, interaction_tallies))
        if any(m.source == AGENTS for m in measures):
            _merge(tallies, _agent_tallies(connection, definition, time.time() if now is None else now))
    if by_customer and shown is not None:
        tallies = _by_customer_attributes(tallies, definition, by_customer, shown)
    period = Period(definition.period, definition.timezone)
    rows = []
    for key in sorted(tallies):
        values = tallies[key]
        row: dict[str, Any] = {}
        for dimension, value in zip(definition.dimensions, key):
            row[dimension] = period.label(value) if dimension == "period" else value
        for measure in measures:
            row[measure.name] = measure.value({t: values.get(t, MISSING.get(t, 0)) for t in measure.tallies})
        rows.append(row)
    return Report(name=definition.name, title=definition.title, dimensions=definition.dimensions,
                  measures=definition.measures, rows=tuple(rows), period=definition.period,
                  timezone=definition.timezone, start=_iso(definition.start, period),
                  end=_iso(definition.end, period),
                  chart_kind=definition.chart_kind, chart_measures=definition.chart_measures,
                  labels=definition.labels)


def _by_customer_attributes(tallies: dict[Key, dict[str, Any]], definition: Definition, by_customer: dict[str, str],
                            shown: customers.Shown) -> dict[Key, dict[str, Any]]:
    """``tallies`` keyed by customer (``""``: none) merged by the customers' attributes."""
    places = [definition.dimensions.index(d) for d in by_customer]
    keys = [key[places[0]] for key in tallies if key[places[0]]]
    values = {place: shown(name, keys) for place, name in zip(places, by_customer.values())}
    merged: dict[Key, dict[str, Any]] = {}
    for key, found in tallies.items():
        shown_key = tuple(values[n].get(str(part), customers.NONE) if n in values else part
                          for n, part in enumerate(key))
        merge(merged.setdefault(shown_key, {}), found)
    return merged


def _merge(into: dict[Key, dict[str, Any]], found: dict[Key, dict[str, Any]]) -> None:
    for key, values in found.items():
        into.setdefault(key, {}).update(values)


def _range(column: sa.ColumnElement, definition: Definition) -> list[sa.ColumnElement]:
    conditions = []
    if definition.start is not None:
        conditions.append(column >= definition.start)
    if definition.end is not None:
        conditions.append(column < definition.end)
    return conditions


def _interaction_tallies(connection: sa.Connection, definition: Definition,
                         names: list[str]) -> dict[Key, dict[str, Any]]:
    rows = events.alias("e")
    window = _range(rows.c.time, definition)
    earlier = events.alias("first")
    first_ids = (sa.select(sa.func.min(earlier.c.id).label("id"))
                 .where(earlier.c.event == CONNECT, *_range(earlier.c.time, definition))
                 .group_by(earlier.c.interaction).cte("first_connects"))
    scope = Scope(rows, sa.and_(rows.c.event == CONNECT, rows.c.id.in_(sa.select(first_ids.c.id))),
                  _target(connection, definition, rows), definition.short_abandon, definition.conversions)
    used = set(definition.dimensions) | set(definition.filters)
    source: sa.FromClause = rows
    queue = rows.c.queue
    if "wrap" in names and "queue" in used:
        handled = events.alias("handled")
        handled_in = (sa.select(handled.c.queue)
                      .where(handled.c.interaction == rows.c.data["of"].as_string(),
                             handled.c.agent == rows.c.agent, handled.c.id < rows.c.id,
                             handled.c.event.in_((COMPLETE, TRANSFER)))
                      .order_by(handled.c.id.desc()).limit(1).scalar_subquery())
        queue = sa.func.coalesce(rows.c.queue, handled_in)
    interaction = sa.func.coalesce(rows.c.interaction, rows.c.data["of"].as_string())
    dimensions: dict[str, sa.ColumnElement] = {"queue": queue, "agent": rows.c.agent}
    if used & {"channel", "direction"}:        # as the interaction arrived (its first ENTER)
        origin = events.alias("origin")
        source = source.outerjoin(origin, sa.and_(
            origin.c.interaction == interaction, origin.c.event == ENTER,
            origin.c.data["channel"].as_string().is_not(None)))
        dimensions["channel"] = origin.c.data["channel"].as_string()
        dimensions["direction"] = sa.func.coalesce(origin.c.data["direction"].as_string(), "inbound")
    if "campaign" in used:
        dial = events.alias("dial")
        source = source.outerjoin(dial, sa.and_(dial.c.interaction == interaction, dial.c.event == DIAL))
        dimensions["campaign"] = sa.func.coalesce(rows.c.data["campaign"].as_string(),
                                                  dial.c.data["campaign"].as_string())
    if any(customers.attribute(d) for d in definition.dimensions):
        origin = events.alias("customer_origin")
        customer = origin.c.data["customer"].as_string()
        first = (sa.select(customer).where(origin.c.interaction == interaction, origin.c.event == ENTER,
                                          customer.is_not(None))
                 .order_by(origin.c.id).limit(1).scalar_subquery())
        dimensions.update({d: sa.func.coalesce(first, "") for d in definition.dimensions if customers.attribute(d)})
    period = Period(definition.period, definition.timezone)
    in_database = period if period.tz is UTC else Period(QUARTER)
    dimensions["period"] = sql_start(in_database, rows.c.time, connection.dialect.name)
    wanted = sorted({event for name in names for event in TALLIES[name].events})
    conditions = [rows.c.event.in_(wanted), *window]
    conditions += [dimensions[d].in_(values) for d, values in definition.filters.items()]
    query = (sa.select(*[dimensions[d].label(f"dimension_{d}") for d in definition.dimensions],
                       *[TALLIES[name].expression(scope).label(name) for name in names])
             .select_from(source).where(*conditions))
    if definition.dimensions:
        query = query.group_by(*[sa.literal_column(str(n + 1)) for n in range(len(definition.dimensions))])
    found: dict[Key, dict[str, Any]] = {}
    width = len(definition.dimensions)
    for row in connection.execute(query):
        values = dict(zip(names, row[width:]))
        key = tuple(period.start(float(v)) if d == "period" else v for d, v in zip(definition.dimensions, row))
        if None in key or not (key or any(values[n] for n in names if n != "longest_wait")):
            continue
        merge(found.setdefault(key, {}), values)
    return found


def _target(connection: sa.Connection, definition: Definition, rows: sa.Alias) -> float | sa.ColumnElement:
    """The service-level target of a row: the definition's seconds, or with ``"queue"`` its
    queue's ``sl_target`` as a communication server last announced it (its ``queues`` events:
    servers sharing a log announce their own queues each; a queue none named: the default
    target)."""
    if definition.service_level_target != EACH_QUEUE:
        return definition.service_level_target
    targets: dict[str, float] = {}
    for announced in connection.execute(sa.select(events.c.data).where(events.c.event == QUEUES)
                                        .order_by(events.c.time, events.c.id)).scalars():
        targets.update((queue["name"], float(queue["sl_target"])) for queue in (announced or {}).get("queues", []))
    return sa.case(targets, value=rows.c.queue, else_=DEFAULT_SL_TARGET) if targets else DEFAULT_SL_TARGET


def _agent_tallies(connection: sa.Connection, definition: Definition, now: float) -> dict[Key, dict[str, Any]]:
    by_period = "period" in definition.dimensions
    by_agent = "agent" in definition.dimensions
    conditions = [events.c.agent.in_(definition.filters["agent"])] if "agent" in definition.filters else []
    totals = agenttime.compute(connection, conditions, definition.start, definition.end,
                               Period(definition.period, definition.timezone) if by_period else None, by_agent,
                               now)
    found = {}
    for (bucket, agent), values in totals.items():
        parts = {"period": bucket, "agent": agent}
        found[tuple(parts[d] for d in definition.dimensions)] = values
    return found


def _iso(seconds: float | None, period: Period) -> str | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, period.tz).isoformat()
