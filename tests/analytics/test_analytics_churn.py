"""Churn risk on fifty thousand synthetic customers: it finds the planted drivers, beats a
recency-only baseline on the held-out future, never looks past its cut-offs, and travels as JSON."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from caruso_analytics import churn, features
from caruso_analytics.history import Events, History


@pytest.fixture(scope="module")
def model(full_history):
    return churn.train(full_history)


def test_the_model_ranks_the_held_out_future_well_and_beats_recency_alone(model, full_history):
    figures = model.validation
    assert model.cutoff == full_history.now - 90
    assert figures["roc_auc"] >= 0.80, figures
    assert figures["roc_auc"] >= figures["baseline_roc_auc"] + 0.10, figures
    assert figures["customers"] == full_history.active(model.cutoff).sum() and figures["left"] > 500
    assert abs(figures["predicted_left"] - figures["left"]) < 0.25 * figures["left"], figures


def test_the_planted_drivers_raise_the_risk_and_lead_the_factors(model, full_history):
    weight = dict(zip(model.features, model.coefficients))
    for driver in ("unresolved_complaints", "price_rises_90_days", "sla_breaches_180_days",
                   "failed_contacts_90_days"):
        assert weight[driver] > 0.1, (driver, weight)
    assert weight["log_tenure_years"] < 0
    scores = churn.score(model, full_history)
    matrix = features.at(full_history, full_history.now)[scores.customers]
    complaining = matrix[:, features.column("unresolved_complaints")] >= 2
    assert complaining.sum() > 100
    assert all("unresolved_complaints" in found[:2] for found, hit in zip(scores.factors, complaining) if hit)
    assert scores.probability[complaining].mean() > 4 * scores.probability[~complaining].mean()


def test_training_never_uses_what_happened_after_the_validation_cutoff(model, full_history):
    """Another future (other leavers, other events after the cut-off) gives the same model,
    and a validation that no longer matches it."""
    cut, events = model.cutoff, full_history.events
    rng = np.random.default_rng(0)
    kept = events.time < cut
    leaving_later = full_history.left > cut
    other_left = full_history.left.copy()
    other_left[leaving_later] = np.nan
    stayers = np.flatnonzero(full_history.active(cut) & ~leaving_later)
    other_left[rng.choice(stayers, leaving_later.sum(), replace=False)] = cut + rng.uniform(0, 90, leaving_later.sum())
    other = dataclasses.replace(full_history, left=other_left, events=Events(
        events.customer[kept], events.time[kept], events.kind[kept], events.value[kept]))
    blind = churn.train(other)
    assert np.allclose(blind.coefficients, model.coefficients) and np.isclose(blind.intercept, model.intercept)
    assert blind.validation["roc_auc"] < 0.6 < model.validation["roc_auc"]


def test_a_model_stored_as_json_scores_as_the_trained_one(model, full_history):
    stored = churn.ChurnModel.from_dict(json.loads(json.dumps(model.to_dict())))
    first, again = churn.score(model, full_history), churn.score(stored, full_history)
    assert np.array_equal(first.probability, again.probability) and first.factors == again.factors
    assert len(first.customers) == full_history.active(full_history.now).sum()
    assert np.all((first.probability > 0) & (first.probability < 1))


def test_a_history_too_short_to_split_is_refused():
    empty = Events.of([], [], [], [])
    short = History(np.arange(3), np.zeros(3), np.full(3, np.nan), empty, None, None, now=100.0)
    with pytest.raises(ValueError, match="too short a period"):
        churn.train(short)
