"""Analytics: training and scoring the churn model for 50,000 customers.

Data: the synthetic history of 50,000 customers over two years (seed 1), generated once
in this run (its time is printed, not compared).
Timed, alternately, 5 rounds (medians): caruso's ``churn.train`` and ``churn.score``
(validation split, recency baseline, figures, JSON-ready model, top factors per customer)
against a hand-written scikit-learn pipeline doing the same job on the same features:
StandardScaler and LogisticRegression fitted on the same three windows, ROC AUC on the
held-out window, probabilities for the customers active now. Target: caruso / hand-written
<= 1.3. Also: scoring throughput (customers per second, features included) and the
validation figures of both, which must agree.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._kit import rounds
from caruso_analytics import churn, features, synthetic

CUSTOMERS = 50_000
HORIZON = 90.0
ROUNDS = 5


def _hand_written(history) -> tuple[float, np.ndarray]:
    """ROC AUC on the held-out window and the probabilities of the customers active now."""
    def window(cutoff: float) -> tuple[np.ndarray, np.ndarray]:
        active = history.active(cutoff)
        return (features.at(history, cutoff)[active],
                features.left_within(history, cutoff, HORIZON)[active])

    held_out_cutoff = history.now - HORIZON
    parts = [window(held_out_cutoff - step * HORIZON) for step in (1, 2, 3)]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    held_out, outcome = window(held_out_cutoff)
    auc = roc_auc_score(outcome, pipeline.predict_proba(held_out)[:, 1])
    now = history.active(history.now)
    return auc, pipeline.predict_proba(features.at(history, history.now)[now])[:, 1]


def run() -> dict:
    started = time.perf_counter()
    history = synthetic.generate(CUSTOMERS, seed=1)
    generated = time.perf_counter() - started
    print(f"generated {CUSTOMERS:,} customers, {len(history.events.time):,} events in {generated:.1f} s", flush=True)
    outcome: dict = {}

    def caruso_side() -> None:
        model = churn.train(history, HORIZON)
        outcome["caruso"] = (model, churn.score(model, history))

    def hand_side() -> None:
        outcome["hand"] = _hand_written(history)

    seconds, ratios = rounds({"hand-written": [hand_side] * ROUNDS, "caruso": [caruso_side] * ROUNDS}, "hand-written")
    (model, scores), (hand_auc, hand_probability) = outcome["caruso"], outcome["hand"]
    assert abs(model.validation["roc_auc"] - hand_auc) < 1e-3, (model.validation, hand_auc)
    assert np.allclose(scores.probability, hand_probability, atol=1e-6)
    matrix = features.at(history, history.now)[scores.customers]
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        churn.score(model, history)
        timings.append(time.perf_counter() - started)
    with_features = len(scores.customers) / float(np.median(timings))
    started = time.perf_counter()
    model.probability(matrix)
    model_only = len(scores.customers) / (time.perf_counter() - started)
    ratio = ratios["caruso"]
    print(f"train and score {CUSTOMERS:,} customers: caruso {seconds['caruso']:.2f} s, hand-written scikit-learn "
          f"{seconds['hand-written']:.2f} s; ratio {ratio:.2f} (target <= 1.3); ROC AUC {model.validation['roc_auc']:.3f} "
          f"(recency alone {model.validation['baseline_roc_auc']:.3f})", flush=True)
    print(f"scoring: {with_features:,.0f} customers/s with their features and top factors, "
          f"{model_only:,.0f} customers/s from ready features", flush=True)
    return {"customers": CUSTOMERS, "events": int(len(history.events.time)), "generate_seconds": round(generated, 2),
            "caruso_seconds": round(seconds["caruso"], 3), "hand_written_seconds": round(seconds["hand-written"], 3),
            "ratio": round(ratio, 3), "roc_auc": round(model.validation["roc_auc"], 4),
            "baseline_roc_auc": round(model.validation["baseline_roc_auc"], 4),
            "scoring_customers_per_second": round(with_features), "model_customers_per_second": round(model_only)}
