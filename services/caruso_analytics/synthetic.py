"""Synthetic CRM history with planted drivers, for tests, benchmarks and demos.

:func:`generate` simulates ``customers`` customers over ``days`` days in steps of ten days,
vectorised over the customers: contacts (some failing), complaints (failed contacts raise
their rate; some stay open for months), SLA breaches, purchases invoiced, price rises (three
waves and a trickle), customers joining and leaving, opportunities moving through their
stages, and leads converting. Who leaves is drawn from the monthly hazard of
:class:`Drivers`, so a model can be checked against what was planted. The same seed gives
the same history.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caruso_analytics.history import KIND_CODES, LOST, WON, Events, History, Leads, Opportunities

STEP = 10.0


@dataclass(frozen=True)
class Drivers:
    """The planted effects. Leaving: a monthly logit of ``base`` plus the terms below."""

    base: float = -6.2
    per_unresolved_complaint: float = 1.5      # open complaints now (up to 3)
    price_rise_90_days: float = 1.6            # a price rise in the last 90 days
    two_unresolved_and_price_rise: float = 1.5  # both: two open complaints and a recent rise
    per_sla_breach_180_days: float = 1.1      # up to 3
    per_failed_contact_90_days: float = 0.5    # up to 4
    engagement: float = -0.4                   # per standard deviation of a hidden engagement
    per_log_tenure_year: float = -0.4          # times log(1 + tenure in years)
    stage_advance: tuple[float, ...] = (0.85, 0.75, 0.7, 0.8, 0.55)  # to the next stage, the last to won
    stage_days: float = 12.0                   # mean days in a stage
    lead_ceiling: float = 0.6                  # conversion: lead_ceiling * sigmoid((score - lead_mid) / lead_width)
    lead_mid: float = 60.0
    lead_width: float = 8.0

    def win_probability(self, stage: int) -> float:
        """The planted chance that an opportunity in open stage ``stage`` is won."""
        return float(np.prod(self.stage_advance[stage:]))

    def lead_conversion(self, score: np.ndarray | float) -> np.ndarray:
        """The planted chance that a lead with ``score`` converts."""
        return self.lead_ceiling / (1.0 + np.exp(-(np.asarray(score, float) - self.lead_mid) / self.lead_width))


def generate(customers: int = 50_000, days: float = 730.0, seed: int = 0,
             drivers: Drivers = Drivers(), origin: str = "2024-01-01") -> History:
    """A history of ``customers`` customers over ``days`` days from ``origin`` (``now`` = ``days``)."""
    rng = np.random.default_rng(seed)
    n = customers
    joined = np.where(rng.random(n) < 0.15, rng.uniform(0, days - 30, n), -rng.uniform(30, 3650, n))
    left = np.full(n, np.nan)
    engagement = rng.standard_normal(n)
    contact_rate = 0.6 * np.exp(0.7 * engagement) * STEP / 30
    purchase_rate = rng.gamma(2.0, 0.6, n) * np.exp(0.3 * engagement) * STEP / 30
    basket = rng.lognormal(4.0, 0.6, n)
    price_factor = np.ones(n)
    last_rise = np.full(n, -np.inf)
    parts: list[tuple] = []
    complaint_customer, complaint_resolved = np.empty(0, np.int64), np.empty(0)
    windowed: dict[str, tuple[list, list]] = {"failed": ([], []), "sla": ([], [])}

    def emit(kind: str, who: np.ndarray, start: float, value: np.ndarray | float = 0.0) -> np.ndarray:
        when = start + rng.uniform(0, STEP, len(who))
        parts.append((who, when, np.full(len(who), KIND_CODES[kind]), np.broadcast_to(value, len(who))))
        return when

    def recent(name: str, start: float, span: float) -> np.ndarray:
        who, when = (np.concatenate(part) if part else np.empty(0) for part in windowed[name])
        inside = (when >= start - span) & (when < start)
        return np.bincount(who[inside].astype(np.int64), minlength=n)

    for start in np.arange(0.0, days, STEP):
        here = np.flatnonzero((joined <= start) & np.isnan(left))
        open_complaints = np.bincount(complaint_customer[complaint_resolved > start], minlength=n)
        unresolved = open_complaints[here]
        rose = (start - last_rise[here]) <= 90
        logit = (drivers.base + drivers.per_unresolved_complaint * np.minimum(unresolved, 3)
                 + drivers.price_rise_90_days * rose
                 + drivers.two_unresolved_and_price_rise * ((unresolved >= 2) & rose)
                 + drivers.per_sla_breach_180_days * np.minimum(recent("sla", start, 180)[here], 3)
                 + drivers.per_failed_contact_90_days * np.minimum(recent("failed", start, 90)[here], 4)
                 + drivers.engagement * engagement[here]
                 + drivers.per_log_tenure_year * np.log1p((start - joined[here]) / 365))
        leaving = rng.random(len(here)) < 1 - (1 - 1 / (1 + np.exp(-logit))) ** (STEP / 30)
        left[here[leaving]] = start + rng.uniform(0, STEP, leaving.sum())

        contacts = np.repeat(here, rng.poisson(contact_rate[here]))
        failing = rng.random(len(contacts)) < 0.15 + 0.1 * (open_complaints[contacts] > 0)
        emit("contact", contacts[~failing], start)
        failed_at = emit("failed_contact", contacts[failing], start)
        windowed["failed"][0].append(contacts[failing])
        windowed["failed"][1].append(failed_at)
        failed_now = np.bincount(contacts[failing], minlength=n)[here]
        complaining = np.repeat(here, rng.poisson(0.02 + 0.3 * failed_now))
        stays_open = rng.random(len(complaining)) < 0.45
        received = start + rng.uniform(0, STEP, len(complaining))
        resolved = received + np.where(stays_open, rng.exponential(200, len(complaining)),
                                       rng.exponential(12, len(complaining)))
        resolved[resolved > days] = np.inf
        parts.append((complaining, received, np.full(len(complaining), KIND_CODES["complaint"]), resolved))
        complaint_customer = np.concatenate([complaint_customer, complaining])
        complaint_resolved = np.concatenate([complaint_resolved, resolved])
        breaches = np.repeat(here, rng.poisson(np.full(len(here), 0.03 * STEP / 30)))
        windowed["sla"][0].append(breaches)
        windowed["sla"][1].append(emit("sla_breach", breaches, start))

        wave = start in (200.0, 450.0, 630.0)
        rising = here[rng.random(len(here)) < (0.35 if wave else 0.004)]
        rise = rng.uniform(0.04, 0.15, len(rising))
        emit("price_rise", rising, start, rise)
        price_factor[rising] *= 1 + rise
        last_rise[rising] = start
        buyers = np.repeat(here, rng.poisson(purchase_rate[here]))
        emit("invoice", buyers, start,
             np.round(basket[buyers] * price_factor[buyers] * rng.lognormal(0, 0.25, len(buyers)), 2))

    customer, time, kind, value = (np.concatenate(column) for column in zip(*parts))
    gone = ~np.isnan(left[customer]) & (time >= left[customer])   # nothing after leaving
    events = Events.of(customer[~gone], time[~gone], kind[~gone], value[~gone])
    return History(np.arange(1, n + 1, dtype=np.int64), joined, left, events,
                   _opportunities(rng, n, days, drivers), _leads(rng, n, days, drivers), float(days), origin)


def _opportunities(rng: np.random.Generator, customers: int, days: float, drivers: Drivers) -> Opportunities:
    count = int(customers * 0.4)
    created = rng.uniform(0, days, count)
    rows, stages, times = [np.arange(count)], [np.zeros(count, np.int8)], [created]
    going, at = np.arange(count), created.copy()
    for stage, advance in enumerate(drivers.stage_advance):
        at[going] += rng.exponential(drivers.stage_days, len(going))
        ahead = rng.random(len(going)) < advance
        entered = at[going] <= days
        going_on = going[ahead & entered]
        stopped = going[~ahead & entered]
        nxt = WON if stage == len(drivers.stage_advance) - 1 else stage + 1
        rows += [going_on, stopped]
        stages += [np.full(len(going_on), nxt, np.int8), np.full(len(stopped), LOST, np.int8)]
        times += [at[going_on], at[stopped]]
        going = going_on if nxt != WON else going[:0]
    order = np.lexsort((np.concatenate(times), np.concatenate(rows)))
    return Opportunities(rng.integers(0, customers, count).astype(np.int32),
                         np.round(rng.lognormal(8.5, 0.8, count), 2), created,
                         np.concatenate(rows).astype(np.int32)[order], np.concatenate(stages)[order],
                         np.concatenate(times)[order])


def _leads(rng: np.random.Generator, customers: int, days: float, drivers: Drivers) -> Leads:
    count = int(customers * 0.3)
    score = rng.integers(0, 101, count).astype(float)
    created = rng.uniform(0, days, count)
    converted = created + rng.exponential(20, count)
    converted[(rng.random(count) >= drivers.lead_conversion(score)) | (converted > days)] = np.nan
    return Leads(score, created, converted)
