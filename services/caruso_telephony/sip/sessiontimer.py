"""Session timers of RFC 4028 on the caller's dialog: who refreshes, how often, and when a
dialog nobody refreshed is over.

Contract of :func:`negotiate` (the initial INVITE's fields): no Session-Expires means no
timer; an interval below ``min_se`` is refused with 422 and Min-SE when the caller
supports timers (else raised to ``min_se``); above ``max_se`` it is lowered. The
refresher is the one the request names, else the caller when it supports timers, else
caruso. :meth:`SessionTimer.headers` are the fields every 2xx of the dialog carries.
:meth:`SessionTimer.refreshed` restarts the interval; :meth:`SessionTimer.expired` says
the caller, as refresher, missed its refresh (RFC 4028 section 10: the interval less a
third, at most 32 s); when caruso refreshes, sippy's keep-alive re-INVITEs do it every
half interval.
"""
from __future__ import annotations

import time

import attrs

from caruso_core.digits import digits

MIN_SE = 90


class TooBrief(Exception):
    """The request's interval is below the minimum: answer 422 with Min-SE."""

    def __init__(self, minimum: int) -> None:
        super().__init__(f"Session-Expires below {minimum}")
        self.minimum = minimum


@attrs.define
class SessionTimer:
    """``interval`` in seconds; ``refresher``: 'uac' (the caller) or 'uas' (caruso)."""

    interval: int
    refresher: str
    last: float = attrs.field(factory=time.monotonic)

    def headers(self) -> list[tuple[str, str]]:
        fields = [("session-expires", f"{self.interval};refresher={self.refresher}")]
        if self.refresher == "uac":
            fields.append(("require", "timer"))
        return fields

    def refreshed(self) -> None:
        self.last = time.monotonic()

    def expired(self, now: float | None = None) -> bool:
        if self.refresher != "uac":
            return False
        grace = min(32.0, self.interval / 3)
        return (now if now is not None else time.monotonic()) - self.last > self.interval - grace


def negotiate(session_expires: str | None, min_se: str | None, supported: list[str], *,
              minimum: int = MIN_SE, maximum: int = 1800) -> SessionTimer | None:
    """The dialog's timer from the initial INVITE's Session-Expires, Min-SE and Supported
    values, None without one; raises :class:`TooBrief` (see the module's contract)."""
    if session_expires is None:
        return None
    value, *parameters = [part.strip() for part in session_expires.split(";")]
    if not digits(value):
        return None
    interval = int(value)
    floor = max(minimum, int(min_se.split(";")[0]) if min_se and digits(min_se.split(";")[0].strip()) else 0)
    timer_supported = "timer" in {item.strip().lower() for entry in supported for item in entry.split(",")}
    if interval < floor:
        if timer_supported:
            raise TooBrief(floor)
        interval = floor
    refresher = next((p.split("=", 1)[1].strip().lower() for p in parameters if p.lower().startswith("refresher=")), None)
    if refresher not in ("uac", "uas"):
        refresher = "uac" if timer_supported else "uas"
    if refresher == "uac" and not timer_supported:
        refresher = "uas"
    return SessionTimer(min(interval, max(maximum, floor)), refresher)
