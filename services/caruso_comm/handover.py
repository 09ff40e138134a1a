"""The hand-over of a server's work in a hot-swap, as one state machine.

States:

``active``
    the instance does its work: its timers fire (offer timeouts, wrap-ups, escalation,
    dialing) and its records are written. A new instance is active: made in process it
    serves at once; a host calls ``cold_start`` or ``import_state`` first.
``handing_over``
    it exported its work to a successor: timers do not fire and its records are held
    (kept, not written) until the swap's end is known.
``retired``
    a swap moved its work to another instance: timers do not fire; the work it still
    holds is stale and is dropped when it takes work again.

Steps (the host's lifecycle calls) and where they lead; "refused" raises Conflict and
leaves the state as it was:

=============== ======================== ============================== ==========================
step            from active              from handing_over              from retired
=============== ======================== ============================== ==========================
export_state    handing_over             handing_over (exported again)  refused: its work is gone
resume          active (nothing was      active (no swap: records are   refused: its work is gone
                handed over)             written here again)
deactivate      retired (nobody took the retired (the records handed    retired
                records: written here)   over are dropped)
import_state    active (a fresh standby) active (held work replaced)    active (stale work dropped)
cold_start      active                   active (the hand-over nobody   active (stale work dropped)
                                         ended is over; work kept)
=============== ======================== ============================== ==========================
"""
from __future__ import annotations

from caruso_core.errors import Conflict

ACTIVE, HANDING_OVER, RETIRED = "active", "handing_over", "retired"
EXPORT, RESUME, DEACTIVATE = "export_state", "resume", "deactivate"
IMPORT, COLD_START = "import_state", "cold_start"
STEPS = (EXPORT, RESUME, DEACTIVATE, IMPORT, COLD_START)

TRANSITIONS: dict[tuple[str, str], str] = {
    (ACTIVE, EXPORT): HANDING_OVER, (HANDING_OVER, EXPORT): HANDING_OVER,
    (ACTIVE, RESUME): ACTIVE, (HANDING_OVER, RESUME): ACTIVE,
    (ACTIVE, DEACTIVATE): RETIRED, (HANDING_OVER, DEACTIVATE): RETIRED, (RETIRED, DEACTIVATE): RETIRED,
    (ACTIVE, IMPORT): ACTIVE, (HANDING_OVER, IMPORT): ACTIVE, (RETIRED, IMPORT): ACTIVE,
    (ACTIVE, COLD_START): ACTIVE, (HANDING_OVER, COLD_START): ACTIVE, (RETIRED, COLD_START): ACTIVE,
}


class HandOver:
    """The hand-over state of one instance (not thread-safe: the server moves it under its
    lock; other threads only read :attr:`held`)."""

    def __init__(self) -> None:
        self.state = ACTIVE

    def move(self, step: str) -> str:
        """Take ``step`` (one of :data:`STEPS`); returns the state it left. Conflict if the
        step is refused now."""
        if step not in STEPS:
            raise ValueError(f"no hand-over step {step!r}")
        after = TRANSITIONS.get((self.state, step))
        if after is None:
            raise Conflict(f"{step} refused: this instance is {self.state} (a swap moved its work away)")
        before, self.state = self.state, after
        return before

    @property
    def serving(self) -> bool:
        """Whether its timers fire."""
        return self.state == ACTIVE

    @property
    def held(self) -> bool:
        """Whether its records wait for the end of a hand-over."""
        return self.state == HANDING_OVER
