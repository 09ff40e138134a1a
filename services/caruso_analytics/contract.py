"""The contract of ``caruso.analytics/1``: what every analytics service must do.

Tests take the fixture ``service``: a client of an analytics service that has not trained
yet, over a history of at least a thousand customers and two years (contacts, complaints,
SLA breaches, invoices, price rises, customers leaving, opportunities with their stages,
leads), such as :func:`caruso_analytics.synthetic.generate` makes. The tests run in the
order written: later ones use the models the earlier ones trained.
"""
from __future__ import annotations

import pytest

from caruso_core.errors import InvalidInput, NotFound
from caruso_core.testing import ContractSuite

FIGURES = {"roc_auc", "baseline_roc_auc", "brier", "customers", "left", "predicted_left"}


class AnalyticsContract(ContractSuite):
    interface = "caruso.analytics/1"

    def test_scoring_needs_a_model_and_each_training_is_a_new_version(self, service):
        if not service.models():
            with pytest.raises(NotFound):
                service.score()
        before = [model["version"] for model in service.models()]
        first, second = service.train(), service.train()
        assert second["version"] == first["version"] + 1 and first["version"] not in before
        assert set(first["validation"]) >= FIGURES and 0.5 < first["validation"]["roc_auc"] <= 1
        assert [m["version"] for m in service.models()][-2:] == [first["version"], second["version"]]

    def test_scores_count_customers_and_those_at_risk(self, service):
        service.train()
        scored = service.score()
        assert scored["version"] == service.models()[-1]["version"]
        assert 0 <= scored["at_risk"] <= scored["customers"] and scored["customers"] > 0
        last = service.last_runs()["score"]
        assert last == {**scored, "at": last["at"]} and isinstance(last["at"], (int, float))

    def test_segments_cover_the_scored_customers(self, service):
        for method in ("rfm", "clusters"):
            found = service.segments(method)
            assert found["method"] == method
            assert sum(row["customers"] for row in found["summary"]) == found["customers"] > 0
            assert service.stored_segments(method) == [{"segment": row["segment"], "customers": row["customers"]}
                                                       for row in found["summary"]]
            last = service.last_runs()[method]
            assert last == {**found, "at": last["at"]}
        with pytest.raises(InvalidInput):
            service.segments("deciles")

    def test_lead_thresholds_and_forecast(self, service):
        thresholds = service.lead_thresholds()
        assert thresholds["warm"] is not None and (thresholds["hot"] is None or thresholds["hot"] >= thresholds["warm"])
        ahead = service.forecast(2, 0.8)
        assert [set(month) for month in ahead["months"]] == [{"month", "expected", "low", "high"}] * 2
        assert all(0 <= m["low"] <= m["high"] and m["expected"] >= 0 for m in ahead["months"])
        with pytest.raises(InvalidInput):
            service.forecast(0, 0.8)
