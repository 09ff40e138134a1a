"""The synthetic history: reproducible, complete, and carrying the drivers it plants."""
from __future__ import annotations

import numpy as np

from caruso_analytics import features, synthetic
from caruso_analytics.history import KINDS, LOST, STAGES, WON


def test_the_same_seed_gives_the_same_history_and_another_seed_another(small_history):
    again = synthetic.generate(8_000, seed=5)
    for mine, theirs in ((small_history.events, again.events), (small_history.opportunities, again.opportunities),
                         (small_history.leads, again.leads)):
        for name, column in vars(mine).items():
            assert np.array_equal(column, getattr(theirs, name), equal_nan=True), name
    assert np.array_equal(small_history.left, again.left, equal_nan=True)
    other = synthetic.generate(8_000, seed=6)
    assert not np.array_equal(small_history.left, other.left, equal_nan=True)


def test_two_years_of_every_kind_of_history_and_nothing_after_leaving(small_history):
    events = small_history.events
    assert small_history.now == 730.0 and events.time.min() < 10 and events.time.max() > 720
    assert np.all(np.diff(events.time) >= 0)
    assert set(np.unique(events.kind)) == set(range(len(KINDS)))
    left = small_history.left[events.customer]
    assert not np.any(events.time >= left)
    assert 0.05 < np.mean(~np.isnan(small_history.left)) < 0.5
    opportunities = small_history.opportunities
    assert set(np.unique(opportunities.stage)) == set(range(len(STAGES)))
    closed = np.isin(opportunities.stage, [WON, LOST])
    assert len(np.unique(opportunities.stage_opportunity[closed])) == closed.sum()   # closed once at most
    assert np.all(np.diff(opportunities.stage_opportunity) >= 0)
    leads = small_history.leads
    assert np.all(leads.converted[~np.isnan(leads.converted)] <= small_history.now)


def test_two_unresolved_complaints_and_a_price_rise_make_customers_leave_far_more_often(full_history):
    rates = []
    for cutoff in (220.0, 480.0, 640.0):   # after each wave of price rises
        active = full_history.active(cutoff)
        planted = features.at(full_history, cutoff)[:, features.column("two_unresolved_and_price_rise")] > 0
        left = features.left_within(full_history, cutoff, 90).astype(bool)
        rates.append((left[active & planted].mean(), left[active & ~planted].mean(), (active & planted).sum()))
    for with_both, others, count in rates:
        assert count > 50 and with_both > 5 * others, rates
