"""Interaction tallies: the counts and sums the database aggregates over event rows.

Each tally is an aggregate SQL expression over the events alias of a :class:`Scope`;
measures (:mod:`caruso_reports.measures`) combine them. Counting rules are those of
docs/communication.md: offered = ``enter`` without ``transfer_from``/``overflow_from``;
answered, ASA and service level use the first ``connect`` of an interaction.
"""
from __future__ import annotations

from typing import Any, Callable

import attrs
import sqlalchemy as sa


@attrs.frozen
class Scope:
    """What tallies aggregate over: ``rows`` (an alias of ``comm_events``), ``first_connect``
    (true for an interaction's first connect), the service-level target and the
    short-abandon threshold in seconds."""

    rows: sa.Alias
    first_connect: sa.ColumnElement
    target: float
    short_abandon: float

    def event(self, *names: str) -> sa.ColumnElement:
        return self.rows.c.event.in_(names) if len(names) > 1 else self.rows.c.event == names[0]

    def number(self, field: str) -> sa.ColumnElement:
        return self.rows.c.data[field].as_float()


def _count(condition: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.count(sa.case((condition, 1)))


def _sum(condition: sa.ColumnElement, value: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value))), 0.0)


def _new(s: Scope) -> sa.ColumnElement:
    return _count(sa.and_(s.event("enter"), s.rows.c.data["transfer_from"].as_string().is_(None),
                          s.rows.c.data["overflow_from"].as_string().is_(None)))


@attrs.frozen
class Tally:
    """A tally: the events it reads and its aggregate expression."""

    events: tuple[str, ...]
    expression: Callable[[Scope], sa.ColumnElement]
    first_connect: bool = False


def merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    """Add the tallies ``values`` of a part (e.g. a quarter hour) to those of the whole."""
    for name, value in values.items():
        if name not in into:
            into[name] = value
        elif name == "longest_wait":
            into[name] = max((v for v in (into[name], value) if v is not None), default=None)
        else:
            into[name] += value


TALLIES: dict[str, Tally] = {
    "new": Tally(("enter",), _new),
    "answered": Tally(("connect",), lambda s: _count(s.first_connect), True),
    "within": Tally(("connect",), lambda s: _count(sa.and_(s.first_connect, s.number("wait") <= s.target)), True),
    "wait": Tally(("connect",), lambda s: _sum(s.first_connect, s.number("wait")), True),
    "abandoned": Tally(("abandon",), lambda s: _count(s.event("abandon"))),
    "short_abandoned": Tally(("abandon",), lambda s: _count(sa.and_(s.event("abandon"),
                                                                    s.number("wait") < s.short_abandon))),
    "transferred": Tally(("transfer",), lambda s: _count(s.event("transfer"))),
    "overflowed": Tally(("overflow",), lambda s: _count(s.event("overflow"))),
    "voicemails": Tally(("voicemail",), lambda s: _count(s.event("voicemail"))),
    "dialed": Tally(("dial",), lambda s: _count(s.event("dial"))),
    "dial_answered": Tally(("dial_result",), lambda s: _count(sa.and_(
        s.event("dial_result"), s.rows.c.data["result"].as_string() == "answered"))),
    "completed": Tally(("complete",), lambda s: _count(s.event("complete"))),
    "connections": Tally(("complete", "transfer"), lambda s: _count(s.event("complete", "transfer"))),
    "talk": Tally(("complete", "transfer"), lambda s: _sum(s.event("complete", "transfer"), s.number("talk"))),
    "wrap": Tally(("wrap_end",), lambda s: _sum(s.event("wrap_end"), s.number("seconds"))),
    "longest_wait": Tally(("connect", "abandon"),
                          lambda s: sa.func.max(sa.case((s.event("connect", "abandon"), s.number("wait"))))),
}
