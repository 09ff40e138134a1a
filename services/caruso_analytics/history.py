"""The history the models learn from, as columns of numpy arrays.

Times are days (floats) since an origin the source chooses; ``now`` is the end of the
history. Events are ``(customer, time, kind, value)`` with ``customer`` an index into
``customer_ids`` and ``kind`` an index into :data:`KINDS`; what ``value`` holds depends on
the kind (:data:`KINDS`). Opportunities move through :data:`STAGES`; every stage an
opportunity entered is one row of the stage history. Both the synthetic generator and the
reader of the storage service produce a :class:`History`; nothing else reaches the models.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = {
    "contact": "an interaction that reached its goal (value unused)",
    "failed_contact": "an interaction that did not (no answer, not solved, abandoned)",
    "complaint": "a complaint; value: the time it was resolved (inf while open)",
    "sla_breach": "a service order that missed its service-level target",
    "invoice": "an invoice or purchase; value: its amount",
    "price_rise": "a price rise; value: the relative rise (0.08 for 8 %)",
}
KIND_CODES = {name: code for code, name in enumerate(KINDS)}
STAGES = ("initiation", "identification", "qualification", "RFP received", "quote sent", "won", "lost")
OPEN_STAGES = STAGES[:5]
WON, LOST = STAGES.index("won"), STAGES.index("lost")


@dataclass
class Events:
    """Rows ordered by time."""

    customer: np.ndarray   # int32, index into History.customer_ids
    time: np.ndarray       # float64 days
    kind: np.ndarray       # int8, index into KINDS
    value: np.ndarray      # float64

    @classmethod
    def of(cls, customer, time, kind, value) -> "Events":
        order = np.argsort(time, kind="stable")
        return cls(np.asarray(customer, np.int32)[order], np.asarray(time, np.float64)[order],
                   np.asarray(kind, np.int8)[order], np.asarray(value, np.float64)[order])


@dataclass
class Opportunities:
    """One row per opportunity; ``stage_opportunity``/``stage``/``stage_time``: the stage history."""

    customer: np.ndarray   # int32
    amount: np.ndarray     # float64
    created: np.ndarray    # float64 days
    stage_opportunity: np.ndarray   # int32, index into the opportunity rows
    stage: np.ndarray      # int8, index into STAGES
    stage_time: np.ndarray  # float64 days


@dataclass
class Leads:
    score: np.ndarray      # float64
    created: np.ndarray    # float64 days
    converted: np.ndarray  # float64 days, NaN if not (yet) converted


@dataclass
class History:
    customer_ids: np.ndarray   # the customers' keys in the storage (int64)
    joined: np.ndarray         # float64 days
    left: np.ndarray           # float64 days, NaN while a customer
    events: Events
    opportunities: Opportunities
    leads: Leads
    now: float
    origin: str = "1970-01-01"   # the date of day 0 (ISO)
    current: dict[str, list] = field(default_factory=dict)   # stored values of result attributes, per customer

    @property
    def size(self) -> int:
        return len(self.customer_ids)

    def active(self, at: float) -> np.ndarray:
        """Mask of the customers at ``at``: joined before it and not left by then."""
        return (self.joined <= at) & ~(self.left <= at)


def as_of(history: History, day: float) -> History:
    """``history`` as it stood at ``day``: what happened later is gone (for back-tests)."""
    events, opportunities, leads = history.events, history.opportunities, history.leads
    joined = history.joined < day
    kept = np.flatnonzero(joined)
    renumbered = np.full(history.size, -1, np.int32)
    renumbered[kept] = np.arange(len(kept))
    seen = (events.time < day) & joined[events.customer]
    value = np.where((events.kind == KIND_CODES["complaint"]) & (events.value >= day), np.inf, events.value)
    created = opportunities.created < day
    renumbered_opportunity = np.cumsum(created) - 1
    staged = (opportunities.stage_time < day) & created[opportunities.stage_opportunity]
    known = leads.created < day
    return History(
        history.customer_ids[kept], history.joined[kept], np.where(history.left < day, history.left, np.nan)[kept],
        Events(renumbered[events.customer[seen]], events.time[seen], events.kind[seen], value[seen]),
        Opportunities(renumbered[opportunities.customer[created]], opportunities.amount[created], opportunities.created[created],
                      renumbered_opportunity[opportunities.stage_opportunity[staged]].astype(np.int32),
                      opportunities.stage[staged], opportunities.stage_time[staged]),
        Leads(leads.score[known], leads.created[known], np.where(leads.converted < day, leads.converted, np.nan)[known]),
        float(day), history.origin)
