"""Churn risk: who is likely to leave in the next ``horizon`` days, and why.

Training splits by time, never by customer: the model is fitted on the features at
``windows`` earlier cut-offs, each labelled with who left in the ``horizon`` days after it,
all labels ending by the validation cut-off ``now - horizon``; it is validated on the
features at that cut-off against who left in the last ``horizon`` days, which it never saw.
A recency-only model (days since the last contact) is fitted and validated on the same
split as the baseline. The model is a standardised logistic regression, so it is stored as
plain numbers (:class:`ChurnModel`, JSON; never pickle) and a customer's top factors are
the features that push their log-odds up the most.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from caruso_analytics import features
from caruso_analytics.history import History

RECENCY = "days_since_contact"


@dataclass
class ChurnModel:
    """A trained churn model: what it needs to score, and how it did on the held-out period."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coefficients: list[float]
    intercept: float
    horizon: float
    cutoff: float                  # the validation cut-off (day)
    validation: dict[str, float]   # roc_auc, baseline_roc_auc, brier, customers, left
    version: int = 0
    trained_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChurnModel":
        return cls(**data)

    def log_odds_parts(self, matrix: np.ndarray) -> np.ndarray:
        """Each feature's share of each row's log-odds (rows: customers)."""
        return (matrix - np.asarray(self.mean)) / np.asarray(self.scale) * np.asarray(self.coefficients)

    def probability(self, matrix: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(self.log_odds_parts(matrix).sum(axis=1) + self.intercept)))


def _fit(matrix: np.ndarray, labels: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression      # scikit-learn imported where it fits (a second)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(matrix, labels)


def _split(history: History, cutoff: float, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the customers active at ``cutoff``."""
    active = history.active(cutoff)
    return features.at(history, cutoff)[active], features.left_within(history, cutoff, horizon)[active]


def train(history: History, horizon: float = 90.0, windows: int = 3) -> ChurnModel:
    """A model validated on the last ``horizon`` days and trained on ``windows`` before them."""
    validation_cutoff = history.now - horizon
    if validation_cutoff - windows * horizon < history.events.time.min(initial=history.now):
        raise ValueError(f"the history covers too short a period for {windows} training windows "
                         f"and a validation window of {horizon:g} days each")
    parts = [_split(history, validation_cutoff - step * horizon, horizon) for step in range(1, windows + 1)]
    matrix, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    held_out, outcome = _split(history, validation_cutoff, horizon)
    if labels.min(initial=1) == labels.max(initial=0) or outcome.min(initial=1) == outcome.max(initial=0):
        raise ValueError("the history needs customers who left and who stayed in every window")
    from sklearn.metrics import brier_score_loss, roc_auc_score

    pipeline = _fit(matrix, labels)
    recency = features.column(RECENCY)
    baseline = _fit(matrix[:, [recency]], labels)
    scaler, regression = pipeline[0], pipeline[-1]
    model = ChurnModel(list(features.FEATURES), scaler.mean_.tolist(), scaler.scale_.tolist(),
                       regression.coef_[0].tolist(), float(regression.intercept_[0]), horizon,
                       validation_cutoff, {})
    predicted = model.probability(held_out)
    model.validation = {
        "roc_auc": float(roc_auc_score(outcome, predicted)),
        "baseline_roc_auc": float(roc_auc_score(outcome, baseline.predict_proba(held_out[:, [recency]])[:, 1])),
        "brier": float(brier_score_loss(outcome, predicted)),
        "customers": int(len(outcome)), "left": int(outcome.sum()),
        "predicted_left": float(predicted.sum()),
    }
    return model


@dataclass
class Scores:
    """Churn probabilities of the active customers and their top factors."""

    customers: np.ndarray          # indices into the history's customers
    probability: np.ndarray
    factors: list[list[str]]       # per customer, the features raising the risk most, strongest first


def score(model: ChurnModel, history: History, top: int = 3) -> Scores:
    """Score the customers active at the end of ``history`` with ``model``."""
    active = np.flatnonzero(history.active(history.now))
    matrix = features.at(history, history.now)[active]
    parts = model.log_odds_parts(matrix)
    order = np.argsort(-parts, axis=1)[:, :top]
    names = np.asarray(model.features, dtype=object)
    raising = np.take_along_axis(parts, order, axis=1) > 0
    factors = [[name for name, up in zip(row, ups) if up]
               for row, ups in zip(names[order].tolist(), raising.tolist())]
    return Scores(active, model.probability(matrix), factors)
