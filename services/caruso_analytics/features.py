"""Customer features at a cut-off time, from what happened before it only.

:func:`at` computes, for every customer of a :class:`~caruso_analytics.history.History`,
the figures of :data:`FEATURES` as they stood at ``cutoff``: events at or after it are not
looked at, and a complaint counts as open when it was resolved after the cut-off, so a model
trained on an earlier cut-off never sees the future. :func:`left_within` is the label:
who left in the ``horizon`` days after the cut-off.
"""
from __future__ import annotations

import numpy as np

from caruso_analytics.history import KIND_CODES, History

FEATURES = {
    "log_tenure_years": "log(1 + years since the customer joined)",
    "days_since_contact": "days since the last interaction (capped at 365)",
    "contacts_90_days": "interactions in the last 90 days",
    "failed_contacts_90_days": "interactions that failed in the last 90 days",
    "complaints_180_days": "complaints received in the last 180 days",
    "unresolved_complaints": "complaints open at the cut-off",
    "sla_breaches_180_days": "SLA breaches in the last 180 days",
    "price_rises_90_days": "price rises in the last 90 days",
    "two_unresolved_and_price_rise": "1 with two or more open complaints and a price rise in the last 90 days",
    "purchases_365_days": "invoices in the last 365 days",
    "revenue_365_days": "amount invoiced in the last 365 days",
    "days_since_purchase": "days since the last invoice (capped at 365)",
}
CAP_DAYS = 365.0


def at(history: History, cutoff: float) -> np.ndarray:
    """A matrix of every customer's :data:`FEATURES` at ``cutoff`` (rows: customers)."""
    events, n = history.events, history.size
    seen = events.time < cutoff
    kind, time, who = events.kind[seen], events.time[seen], events.customer[seen]

    def count(name: str, days: float, weights: np.ndarray | None = None) -> np.ndarray:
        mask = (kind == KIND_CODES[name]) & (time >= cutoff - days)
        return np.bincount(who[mask], weights=None if weights is None else weights[seen][mask], minlength=n)

    def since(*names: str) -> np.ndarray:
        mask = np.isin(kind, [KIND_CODES[name] for name in names])
        last = np.full(n, -np.inf)
        np.maximum.at(last, who[mask], time[mask])
        return np.minimum(cutoff - last, CAP_DAYS)

    complaint = kind == KIND_CODES["complaint"]
    unresolved = np.bincount(who[complaint & (events.value[seen] > cutoff)], minlength=n)
    rise = count("price_rise", 90)
    contacts = count("contact", 90) + count("failed_contact", 90)
    return np.column_stack([
        np.log1p(np.maximum(cutoff - history.joined, 0) / 365),
        since("contact", "failed_contact"),
        contacts,
        count("failed_contact", 90),
        count("complaint", 180),
        unresolved,
        count("sla_breach", 180),
        rise,
        ((unresolved >= 2) & (rise > 0)).astype(float),
        count("invoice", 365),
        count("invoice", 365, events.value),
        since("invoice"),
    ])


def left_within(history: History, cutoff: float, horizon: float) -> np.ndarray:
    """1 for the customers who left in (``cutoff``, ``cutoff + horizon``], else 0."""
    return ((history.left > cutoff) & (history.left <= cutoff + horizon)).astype(np.int8)


def column(name: str) -> int:
    """The index of feature ``name`` in the matrix of :func:`at`."""
    return list(FEATURES).index(name)
