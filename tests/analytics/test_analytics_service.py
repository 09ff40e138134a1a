"""The analytics service over Pyro5 with a real storage service on SQLite: it reads the
history through the storage interface and writes risk, factors and segments back atomically."""
from __future__ import annotations

import numpy as np
import pytest

import datetime
import sys
import threading
import types

from caruso_analytics import service as analytics_service
from caruso_analytics.history import OPEN_STAGES
from caruso_core.errors import ConfigError, InvalidInput, NotFound, Unavailable
from caruso_core.testing.waiting import eventually

from analytics_support import SOURCE, HungStorage


def test_train_score_and_segment_write_back_through_the_storage(solution):
    storage, history, start = solution
    analytics = start(at_risk=0.1)
    with pytest.raises(NotFound, match="no churn model yet"):
        analytics.score()
    assert analytics.last_runs() == {"score": None, "rfm": None, "clusters": None}
    model = analytics.train()
    assert model["version"] == 1 and model["validation"]["roc_auc"] > 0.7
    assert analytics.train()["version"] == 2 and [m["version"] for m in analytics.models()] == [1, 2]
    scored = analytics.score()
    active = int(history.active(history.now).sum())
    assert scored["version"] == 2 and abs(scored["customers"] - active) <= 5
    assert storage.count("Customer", {"field": "churn_risk", "op": "is_null", "value": False}) == scored["customers"]
    assert storage.count("Customer", {"field": "churn_risk", "op": "ge", "value": 0.1}) == scored["at_risk"] > 0
    # this history holds risks stored as exactly the threshold (some rounded up to it): counted as stored
    assert storage.count("Customer", {"field": "churn_risk", "op": "eq", "value": 0.1}) > 0
    target = analytics.at_risk_target()
    assert (target["number"], target["customer"]) == ("phone", "id")
    assert storage.count(target["object"], target["where"]) == scored["at_risk"]
    riskiest = storage.query("Customer", None, ["-churn_risk"], 1)[0]
    assert riskiest["churn_factors"] and riskiest["cancelled"] is None
    gone = {"field": "cancelled", "op": "is_null", "value": False}
    storage.apply([{"op": "update", "object": "Customer", "key": key, "values": {"churn_risk": 0.5}}
                   for key in (c["id"] for c in storage.query("Customer", gone, None, 3))])   # stale from earlier runs
    analytics.score()
    assert storage.count("Customer", gone) > 100
    assert all(customer["churn_risk"] is None and customer["churn_factors"] is None
               for customer in storage.query("Customer", gone, None, 1000))

    again = analytics.score()
    assert again["written"] == 0 and again["customers"] == scored["customers"]   # nothing changed, nothing written
    rfm = analytics.segments("rfm")
    assert rfm["written"] == rfm["customers"]
    for row in rfm["summary"]:
        assert storage.count("Customer", {"field": "rfm_segment", "op": "eq", "value": row["segment"]}) == row["customers"]
    clusters = analytics.segments("clusters")
    assert clusters["customers"] == rfm["customers"] == scored["customers"]
    assert storage.count("Customer", {"field": "cluster", "op": "eq", "value": "cluster 1"}) == \
        clusters["summary"][0]["customers"]
    last = analytics.last_runs()                  # what the last runs answered, with when they ran
    assert {kind: {k: v for k, v in run.items() if k != "at"} for kind, run in last.items()} == {
        "score": again, "rfm": rfm, "clusters": clusters}
    assert last["score"]["at"] <= last["rfm"]["at"] <= last["clusters"]["at"]

    thresholds = analytics.lead_thresholds()
    assert thresholds["hot"] > thresholds["warm"]
    ahead = analytics.forecast(3, 0.8)
    assert len(ahead["months"]) == 3 and ahead["open_opportunities"] > 0
    assert all(0 <= m["low"] <= m["high"] and m["expected"] >= 0 for m in ahead["months"])
    assert np.isclose(sum(m["expected"] for m in ahead["months"]), ahead["total"]["expected"], rtol=1e-6)
    assert analytics.forecast_chart(3, 0.8).startswith(b"\x89PNG")


def test_a_write_back_the_storage_refuses_writes_nothing(solution):
    storage, _, start = solution
    analytics = start(factors_attribute="reasons")     # the model has no such attribute
    analytics.train()
    with pytest.raises(InvalidInput, match="reasons"):
        analytics.score()
    assert storage.count("Customer", {"field": "churn_risk", "op": "is_null", "value": False}) == 0
    with pytest.raises(InvalidInput, match="neither rfm nor clusters"):
        analytics.segments("deciles")


def test_on_a_schedule_it_trains_and_scores_by_itself(solution):
    storage, _, start = solution
    analytics = start(retrain_every=0.5)
    scored = {"field": "churn_risk", "op": "is_null", "value": False}
    eventually(lambda: storage.count("Customer", scored), limit=120, what="customers scored on schedule")
    versions = eventually(lambda: [m["version"] for m in analytics.models()], lambda v: len(v) >= 2, limit=120,
                          what="a second scheduled training")
    assert versions[:2] == [1, 2]


def test_lead_thresholds_and_forecasts_come_from_a_history_at_most_figures_max_age_old(solution, monkeypatch):
    """A page and its chart read the storage once; a deal added shows once the figures are a
    minute old (the service's clock stands in for the minute)."""
    storage, _, start = solution
    clock = types.SimpleNamespace(monotonic=lambda: now)
    now = 1000.0
    monkeypatch.setattr(analytics_service, "time", clock)
    analytics = start(figures_max_age=60)
    before, thresholds = analytics.forecast(3, 0.8), analytics.lead_thresholds()
    today = datetime.date.today().isoformat()
    [deal] = storage.apply([{"op": "create", "object": "Deal", "values": {"customer_id": 1, "amount": "5000.00",
                                                                          "created": today}}])
    storage.apply([{"op": "create", "object": "DealStage",
                    "values": {"deal_id": deal["id"], "stage": OPEN_STAGES[0], "at": today}}])
    now += 59
    assert analytics.forecast(3, 0.8) == before and analytics.lead_thresholds() == thresholds
    assert analytics.forecast_chart(3, 0.8).startswith(b"\x89PNG")
    assert analytics.forecast(6, 0.8)["open_opportunities"] == before["open_opportunities"]   # the same history
    now += 1
    assert analytics.forecast(3, 0.8)["open_opportunities"] == before["open_opportunities"] + 1
    with pytest.raises(InvalidInput, match="could not convert string to float"):
        analytics.forecast(3, "high")
    with pytest.raises(ConfigError, match="figures_max_age: seconds, 0 or more"):
        analytics_service.AnalyticsService(source=None, figures_max_age=-1)


def test_askers_waiting_on_a_history_read_that_fails_get_its_error_instead_of_reading_again(
        caruso_host, caruso_client, tmp_path):
    """Three forecasts asked at once of a storage that does not answer: one reads the history,
    the two waiting for it get its error (before, each read in turn: three call timeouts)."""
    HungStorage.released.clear()
    HungStorage.asked = 0
    caruso_host("analytics_support:HungStorage")
    caruso_host("analytics", config={"source": SOURCE, "models_file": str(tmp_path / "models.json")})
    failures = []

    def forecast():
        try:
            caruso_client.get("caruso.analytics/1").forecast(3, 0.8)
        except Unavailable as error:
            failures.append(str(error))

    askers = [threading.Thread(target=forecast) for _ in range(3)]
    askers[0].start()
    eventually(lambda: HungStorage.asked == 1, what="the first read of the history")
    for asker in askers[1:]:
        asker.start()
    eventually(lambda: sum(frame.f_code.co_name == "_figure" for frame in sys._current_frames().values()) == 2,
               what="two askers waiting for the first read")       # blocked on the lock in _figure
    HungStorage.released.set()
    for asker in askers:
        asker.join(60)
    assert HungStorage.asked == 1
    assert len(failures) == 3 and all("the database did not answer" in failure for failure in failures)


def test_with_the_manager_down_the_figures_still_come_from_the_storage(solution, caruso_manager):
    storage, _, start = solution
    analytics = start(figures_max_age=0)                     # each figure reads the history afresh
    before = analytics.forecast(3, 0.8)
    caruso_manager.stop()
    assert analytics.forecast(3, 0.8) == before
