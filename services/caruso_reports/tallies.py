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

from caruso_comm.events import (ABANDON, COMPLETE, CONNECT, DIAL, DIAL_RESULT, ENTER, OVERFLOW, RESTART,
                                TRANSFER, VOICEMAIL, VOICEMAIL_MESSAGE, WRAP_END)


@attrs.frozen
class Scope:
    """What tallies aggregate over: ``rows`` (an alias of ``comm_events``), ``first_connect``
    (true for an interaction's first connect), the service-level target (seconds, or an
    expression of the row, e.g. by its queue) and the short-abandon threshold in seconds,
    the dispositions that count as conversions."""

    rows: sa.Alias
    first_connect: sa.ColumnElement
    target: float | sa.ColumnElement
    short_abandon: float
    conversions: tuple[str, ...] = ()

    def event(self, *names: str) -> sa.ColumnElement:
        return self.rows.c.event.in_(names) if len(names) > 1 else self.rows.c.event == names[0]

    def number(self, field: str) -> sa.ColumnElement:
        return self.rows.c.data[field].as_float()


def _count(condition: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.count(sa.case((condition, 1)))


def _sum(condition: sa.ColumnElement, value: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value))), 0.0)


def _abandoned(s: Scope) -> sa.ColumnElement:
    """``abandon`` events but those of reason ``restart`` (nobody left: a restart of the server ended them)."""
    reason = s.rows.c.data["reason"].as_string()
    return sa.and_(s.event(ABANDON), sa.or_(reason.is_(None), reason != RESTART))


def _new(s: Scope) -> sa.ColumnElement:
    return _count(sa.and_(s.event(ENTER), s.rows.c.data["transfer_from"].as_string().is_(None),
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
    "new": Tally((ENTER,), _new),
    "answered": Tally((CONNECT,), lambda s: _count(s.first_connect), True),
    "within": Tally((CONNECT,), lambda s: _count(sa.and_(s.first_connect, s.number("wait") <= s.target)), True),
    "wait": Tally((CONNECT,), lambda s: _sum(s.first_connect, s.number("wait")), True),
    "abandoned": Tally((ABANDON,), lambda s: _count(_abandoned(s))),
    "short_abandoned": Tally((ABANDON,), lambda s: _count(sa.and_(_abandoned(s), s.number("wait") < s.short_abandon))),
    "transferred": Tally((TRANSFER,), lambda s: _count(s.event(TRANSFER))),
    "overflowed": Tally((OVERFLOW,), lambda s: _count(s.event(OVERFLOW))),
    "voicemails": Tally((VOICEMAIL,), lambda s: _count(s.event(VOICEMAIL))),
    "messages": Tally((VOICEMAIL_MESSAGE,), lambda s: _count(s.event(VOICEMAIL_MESSAGE))),
    "dialed": Tally((DIAL,), lambda s: _count(s.event(DIAL))),
    "dial_answered": Tally((DIAL_RESULT,), lambda s: _count(sa.and_(
        s.event(DIAL_RESULT), s.rows.c.data["result"].as_string() == "answered"))),
    "completed": Tally((COMPLETE,), lambda s: _count(s.event(COMPLETE))),
    "converted": Tally((COMPLETE,), lambda s: _count(sa.and_(
        s.event(COMPLETE), s.rows.c.data["disposition"].as_string().in_(s.conversions)))),
    "connections": Tally((COMPLETE, TRANSFER), lambda s: _count(s.event(COMPLETE, TRANSFER))),
    "talk": Tally((COMPLETE, TRANSFER), lambda s: _sum(s.event(COMPLETE, TRANSFER), s.number("talk"))),
    "wrap": Tally((WRAP_END,), lambda s: _sum(s.event(WRAP_END), s.number("seconds"))),
    "longest_wait": Tally((CONNECT, ABANDON),
                          lambda s: sa.func.max(sa.case((s.event(CONNECT, ABANDON), s.number("wait"))))),
}
