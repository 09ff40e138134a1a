"""RFM segments and clusters: named by the figures they stand for, and the same on every run."""
from __future__ import annotations

import numpy as np
import pytest

from caruso_analytics import segments, synthetic


def test_rfm_segments_order_customers_by_recency_and_value(small_history):
    found = segments.rfm(small_history)
    assert len(found.customers) == small_history.active(small_history.now).sum() == len(found.labels)
    summary = {row["segment"]: row for row in found.summary}
    assert set(summary) == {name for name, *_ in segments.RFM_SEGMENTS}
    champions, lost, at_risk = summary["champions"], summary["lost"], summary["at risk"]
    assert champions["days_since_purchase"] < at_risk["days_since_purchase"] < lost["days_since_purchase"]
    assert champions["revenue_365_days"] > at_risk["revenue_365_days"] > lost["revenue_365_days"]
    assert sum(row["customers"] for row in found.summary) == len(found.customers)


def test_clusters_are_the_same_on_every_run_with_the_same_seed(small_history):
    using = ["revenue_365_days", "contacts_90_days", "unresolved_complaints"]
    first = segments.clusters(small_history, using, count=4, seed=3)
    again = segments.clusters(synthetic.generate(8_000, seed=5), using, count=4, seed=3)
    assert first.labels == again.labels and first.summary == again.summary
    revenue = [row["revenue_365_days"] for row in first.summary]
    assert revenue == sorted(revenue) and len(set(first.labels)) == 4
    other_seed = segments.clusters(small_history, using, count=4, seed=4)
    shared = np.mean(np.array(first.labels) == np.array(other_seed.labels))
    assert shared > 0.9   # numbered by their means, clusters keep their numbers across seeds too


def test_clusters_over_unknown_features_are_refused(small_history):
    with pytest.raises(ValueError, match="'revenue'.*known: log_tenure_years"):
        segments.clusters(small_history, ["revenue"], count=3)
