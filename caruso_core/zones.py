"""Time zones named in configuration: IANA names such as ``Europe/Amsterdam``, or ``UTC``."""
from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any

from caruso_core.errors import ConfigError

UTC = dt.timezone.utc
# names in the zone database that name no place: the machine's own setting, and a placeholder
NOT_PLACES = frozenset({"localtime", "Factory"})


def zone(name: Any, where: str) -> dt.tzinfo:
    """The time zone ``name``, one of the zone database's places (as browsers know them too);
    a one-line ConfigError naming ``where`` for anything else."""
    if name == "UTC":
        return UTC
    if isinstance(name, str) and name in _places():
        return zoneinfo.ZoneInfo(name)
    raise ConfigError(f"{where}: unknown time zone {str(name)[:80]!r}; use an IANA name such as "
                      "Europe/Berlin, or UTC")


def today(zone: dt.tzinfo) -> dt.date:
    """The date it is now in ``zone`` (the business's today)."""
    return dt.datetime.now(zone).date()


@functools.cache
def _places() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_PLACES
