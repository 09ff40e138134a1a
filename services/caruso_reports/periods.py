"""Report periods: 15 minutes, hour, day, week (from Monday) and month, in a time zone.

A period is named by its start, as Unix seconds. :func:`sql_start` computes the UTC
period in the database; :class:`Period` computes periods in any zone in Python. As
every zone's offset is a whole number of quarter hours, a UTC quarter hour lies within
one period of any zone: reports in another zone group by UTC quarter hours in the
database and merge those into the zone's periods.
"""
from __future__ import annotations

import datetime as dt

import attrs
import sqlalchemy as sa

from caruso_core.zones import UTC, zone

WEEK_OFFSET = 4 * 86400.0  # 1970-01-05, the first Monday after the epoch
FIXED = {"15min": (900.0, 0.0), "hour": (3600.0, 0.0), "day": (86400.0, 0.0),
         "week": (7 * 86400.0, WEEK_OFFSET)}
NAMES = ("15min", "hour", "day", "week", "month")
QUARTER = "15min"


@attrs.frozen
class Period:
    """A period size (one of :data:`NAMES`) in the time zone named ``timezone``."""

    name: str = attrs.field(validator=attrs.validators.in_(NAMES))
    timezone: str = "UTC"
    tz: dt.tzinfo = attrs.field(init=False, eq=False, repr=False)

    @tz.default
    def _tz(self) -> dt.tzinfo:
        return zone(self.timezone, "time zone")

    def start(self, time: float) -> float:
        """The start of the period holding ``time``."""
        if self.tz is UTC and self.name in FIXED:
            size, offset = FIXED[self.name]
            return (time - offset) // size * size + offset
        if self.name == QUARTER:
            return time // 900.0 * 900.0
        local = dt.datetime.fromtimestamp(time, self.tz)
        if self.name == "hour":
            return local.replace(minute=0, second=0, microsecond=0).timestamp()
        day = local.date()
        if self.name == "week":
            day -= dt.timedelta(days=day.weekday())
        elif self.name == "month":
            day = day.replace(day=1)
        return dt.datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()

    def following(self, start: float) -> float:
        """The start of the period after the one starting at ``start``."""
        if self.name in (QUARTER, "hour") or (self.tz is UTC and self.name in FIXED):
            return start + FIXED[self.name][0]
        day = dt.datetime.fromtimestamp(start, self.tz).date()
        if self.name == "month":
            year, month = divmod(day.year * 12 + day.month, 12)
            day = dt.date(year, month + 1, 1)
        else:
            day += dt.timedelta(days=7 if self.name == "week" else 1)
        return dt.datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp()

    def label(self, start: float) -> str:
        """How the period is shown: its start in the zone, ``YYYY-MM-DD HH:MM``."""
        return dt.datetime.fromtimestamp(start, self.tz).strftime("%Y-%m-%d %H:%M")


def sql_start(period: Period, time: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """The SQL expression of the start of the UTC period holding ``time`` (Unix seconds)."""
    if period.name == "month":
        if dialect == "sqlite":
            return sa.cast(sa.func.strftime("%s", time, "unixepoch", "start of month"), sa.Float)
        truncated = sa.func.date_trunc("month", sa.func.timezone("UTC", sa.func.to_timestamp(time)))
        return sa.extract("epoch", truncated)
    size, offset = FIXED[period.name]
    shifted = (time - offset) / size
    whole = sa.cast(shifted, sa.Integer) if dialect == "sqlite" else sa.func.floor(shifted)
    return whole * size + offset
