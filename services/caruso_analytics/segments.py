"""Customer segments: RFM scores with named segments, and clustering over declared features.

:func:`rfm` scores each active customer 1 to 5 on recency (days since the last purchase:
recent is 5), frequency (purchases in 365 days) and monetary value (amount in 365 days) by
quintile of rank among the active customers, and names the segment of :data:`RFM_SEGMENTS`
that the recency score and the mean of the other two fall in (the first that matches).
:func:`clusters` groups the active customers with k-means over the standardised features
the deployment declares; clusters are numbered by the mean of the first declared feature
(then the next ones), so the same data and seed give the same numbers on every run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caruso_analytics import features
from caruso_analytics.history import History

# name, recency score from..to, mean of frequency and monetary scores from..to
RFM_SEGMENTS = (
    ("champions", 4, 5, 4, 5),
    ("loyal", 3, 5, 3, 5),
    ("promising", 4, 5, 1, 5),
    ("needs attention", 3, 3, 1, 5),
    ("at risk", 1, 2, 3, 5),
    ("lost", 1, 1, 1, 1.5),
    ("hibernating", 1, 2, 1, 5),
)


@dataclass
class Segments:
    customers: np.ndarray   # indices into the history's customers (the active ones)
    labels: list[str]       # per customer
    summary: list[dict]     # per segment or cluster: name, customers, mean of each feature used


def _quintile(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata                         # SciPy and scikit-learn imported where used

    return np.clip(np.ceil(rankdata(values) / len(values) * 5), 1, 5).astype(int)


def rfm(history: History) -> Segments:
    """The RFM segment of each customer active at the end of ``history``."""
    active = np.flatnonzero(history.active(history.now))
    if not len(active):
        raise ValueError("no active customers to segment")
    used = ["days_since_purchase", "purchases_365_days", "revenue_365_days"]
    matrix = features.at(history, history.now)[active][:, [features.column(name) for name in used]]
    recency, frequency, monetary = matrix.T
    r, value = _quintile(-recency), (_quintile(frequency) + _quintile(monetary)) / 2
    labels = np.full(len(active), RFM_SEGMENTS[-1][0], dtype=object)
    unset = np.ones(len(active), bool)
    for name, r_low, r_high, v_low, v_high in RFM_SEGMENTS:
        match = unset & (r >= r_low) & (r <= r_high) & (value >= v_low) & (value <= v_high)
        labels[match], unset = name, unset & ~match
    return Segments(active, labels.tolist(), _summary(labels, matrix, used, [s[0] for s in RFM_SEGMENTS]))


def clusters(history: History, using: list[str], count: int = 5, seed: int = 0) -> Segments:
    """``count`` clusters of the active customers over the features named in ``using``."""
    unknown = [name for name in using if name not in features.FEATURES]
    if unknown or not using:
        raise ValueError(f"cluster features {unknown or using}: not features; known: {', '.join(features.FEATURES)}")
    active = np.flatnonzero(history.active(history.now))
    if len(active) < count:
        raise ValueError(f"{len(active)} active customers cannot make {count} clusters")
    matrix = features.at(history, history.now)[active][:, [features.column(name) for name in using]]
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    found = KMeans(n_clusters=count, random_state=seed, n_init=4).fit(StandardScaler().fit_transform(matrix))
    means = np.array([matrix[found.labels_ == c].mean(axis=0) for c in range(count)])
    order = np.lexsort(means.T[::-1])
    number = np.empty(count, int)
    number[order] = np.arange(1, count + 1)
    labels = np.array([f"cluster {n}" for n in number[found.labels_]], dtype=object)
    return Segments(active, labels.tolist(),
                    _summary(labels, matrix, using, [f"cluster {n}" for n in range(1, count + 1)]))


def _summary(labels: np.ndarray, matrix: np.ndarray, used: list[str], names: list[str]) -> list[dict]:
    result = []
    for name in names:
        members = labels == name
        if members.any():
            result.append({"segment": name, "customers": int(members.sum()),
                           **{column: round(float(matrix[members, i].mean()), 3) for i, column in enumerate(used)}})
    return result
