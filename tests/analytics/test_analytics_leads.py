"""Lead thresholds learned from conversions: near the planted curve, and holding on later leads."""
from __future__ import annotations

import numpy as np

from caruso_analytics import leads, synthetic


def test_thresholds_match_the_planted_conversion_curve(full_history):
    learned = leads.thresholds(full_history)
    drivers = synthetic.Drivers()
    scores = np.arange(0, 101)
    within_settle = drivers.lead_conversion(scores) * (1 - np.exp(-60 / 20))   # conversions take 20 days on average
    average = learned["average_rate"]
    planted_hot = scores[within_settle >= 2 * average][0]
    planted_warm = scores[within_settle >= average][0]
    assert abs(learned["hot"] - planted_hot) <= 4 and abs(learned["warm"] - planted_warm) <= 4, (learned, planted_hot,
                                                                                                 planted_warm)
    bands = learned["held_out"]
    assert bands["hot"]["rate"] > bands["warm"]["rate"] > average > bands["cold"]["rate"]
    assert bands["hot"]["rate"] >= 1.7 * average


def test_other_lifts_move_the_thresholds(full_history):
    strict = leads.thresholds(full_history, warm_lift=1.5, hot_lift=2.3)
    usual = leads.thresholds(full_history)
    assert strict["warm"] > usual["warm"] and strict["hot"] > usual["hot"]
    assert leads.thresholds(full_history, hot_lift=10)["hot"] is None
