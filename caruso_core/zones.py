"""Time zones named in configuration: IANA names such as ``Europe/Amsterdam``, or ``UTC``."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from caruso_core.errors import ConfigError

UTC = dt.timezone.utc


def zone(name: Any, where: str) -> dt.tzinfo:
    """The time zone ``name``; a one-line ConfigError naming ``where`` for anything else."""
    if name == "UTC":
        return UTC
    try:
        if isinstance(name, str) and len(name) <= 64:
            return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise ConfigError(f"{where}: unknown time zone {str(name)[:80]!r}; use an IANA name such as "
                      "Europe/Berlin, or UTC")
