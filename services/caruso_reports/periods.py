"""Report periods: 15 minutes, hour, day, week (from Monday) and month, in UTC.

A period is named by its start, as Unix seconds; :func:`sql_start` computes it in the
database, :class:`Period` in Python (for times split across periods).
"""
from __future__ import annotations

import datetime as dt

import attrs
import sqlalchemy as sa

UTC = dt.timezone.utc
WEEK_OFFSET = 4 * 86400.0  # 1970-01-05, the first Monday after the epoch
FIXED = {"15min": (900.0, 0.0), "hour": (3600.0, 0.0), "day": (86400.0, 0.0),
         "week": (7 * 86400.0, WEEK_OFFSET)}
NAMES = ("15min", "hour", "day", "week", "month")


@attrs.frozen
class Period:
    """A period size; ``name`` is one of :data:`NAMES`."""

    name: str = attrs.field(validator=attrs.validators.in_(NAMES))

    def start(self, time: float) -> float:
        """The start of the period holding ``time``."""
        if self.name == "month":
            moment = dt.datetime.fromtimestamp(time, UTC)
            return dt.datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp()
        size, offset = FIXED[self.name]
        return (time - offset) // size * size + offset

    def following(self, start: float) -> float:
        """The start of the period after the one starting at ``start``."""
        if self.name == "month":
            moment = dt.datetime.fromtimestamp(start, UTC)
            year, month = divmod(moment.year * 12 + moment.month, 12)
            return dt.datetime(year, month + 1, 1, tzinfo=UTC).timestamp()
        return start + FIXED[self.name][0]

    def label(self, start: float) -> str:
        """How the period is shown: its start, ``YYYY-MM-DD HH:MM`` (UTC)."""
        return dt.datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M")


def sql_start(period: Period, time: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """The SQL expression of the start of the period holding ``time`` (Unix seconds)."""
    if period.name == "month":
        if dialect == "sqlite":
            return sa.cast(sa.func.strftime("%s", time, "unixepoch", "start of month"), sa.Float)
        truncated = sa.func.date_trunc("month", sa.func.timezone("UTC", sa.func.to_timestamp(time)))
        return sa.extract("epoch", truncated)
    size, offset = FIXED[period.name]
    shifted = (time - offset) / size
    whole = sa.cast(shifted, sa.Integer) if dialect == "sqlite" else sa.func.floor(shifted)
    return whole * size + offset
