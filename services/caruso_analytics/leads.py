"""Lead-scoring thresholds learned from conversion history instead of fixed.

A lead counts as converted when it converted within ``settle`` days of its creation; only
leads at least that old are looked at. The conversion rate by score is fitted as a monotone
(isotonic) curve on the leads settled before the last ``held_out`` days: ``warm`` is the
lowest score whose fitted rate reaches ``warm_lift`` times the average rate, ``hot`` the
lowest reaching ``hot_lift`` times it (None when no score does). The rates of each band are
then measured on the held-out recent leads, which the fit never saw.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from caruso_analytics.history import History


def thresholds(history: History, warm_lift: float = 1.0, hot_lift: float = 2.0, settle: float = 60.0,
               held_out: float = 180.0) -> dict[str, Any]:
    """``hot`` and ``warm`` score thresholds, the fitted average rate and the held-out bands."""
    leads = history.leads
    settled = leads.created <= history.now - settle
    converted = (leads.converted - leads.created <= settle).astype(float)   # NaN compares False
    fitted = settled & (leads.created <= history.now - settle - held_out)
    checked = settled & ~fitted
    if fitted.sum() < 100 or converted[fitted].sum() < 10:
        raise ValueError(f"{int(fitted.sum())} settled leads with {int(converted[fitted].sum())} conversions "
                         "are too few to learn thresholds from (at least 100 and 10)")
    from sklearn.isotonic import IsotonicRegression          # scikit-learn imported where it fits

    curve = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(leads.score[fitted], converted[fitted])
    grid = np.unique(leads.score[fitted])
    rate = curve.predict(grid)
    average = float(converted[fitted].mean())

    def lowest(lift: float) -> float | None:
        reached = grid[rate >= lift * average]
        return float(reached[0]) if len(reached) else None

    warm, hot = lowest(warm_lift), lowest(hot_lift)
    score = leads.score[checked]
    bands = {"hot": score >= (np.inf if hot is None else hot),
             "warm": (score >= (np.inf if warm is None else warm)) & (score < (np.inf if hot is None else hot))}
    bands["cold"] = ~(bands["hot"] | bands["warm"])
    return {"hot": hot, "warm": warm, "average_rate": round(average, 4), "leads": int(fitted.sum()),
            "held_out": {name: {"leads": int(band.sum()),
                                "rate": round(float(converted[checked][band].mean()), 4) if band.any() else None}
                         for name, band in bands.items()}}
