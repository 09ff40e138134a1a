"""The pipeline forecast: stage probabilities near the planted ones, and a back-test from a
day in the past whose interval holds what the open pipeline then really brought."""
from __future__ import annotations

import numpy as np
import pytest

from caruso_analytics import forecast, synthetic
from caruso_analytics.history import LOST, OPEN_STAGES, WON, as_of

CUTOFF = 550.0


def test_learned_stage_probabilities_are_the_planted_ones(full_history):
    drivers = synthetic.Drivers()
    figures = forecast.stage_figures(full_history)
    for code, name in enumerate(OPEN_STAGES):
        assert abs(figures[name]["probability"] - drivers.win_probability(code)) < 0.04, (name, figures[name])


def test_a_back_test_lands_in_the_interval(full_history):
    past = forecast.forecast(as_of(full_history, CUTOFF), months=3, level=0.9)
    opportunities = full_history.opportunities
    closed_before = np.zeros(len(opportunities.amount), bool)
    closing = np.isin(opportunities.stage, [WON, LOST]) & (opportunities.stage_time < CUTOFF)
    closed_before[opportunities.stage_opportunity[closing]] = True
    won = (opportunities.stage == WON) & (opportunities.stage_time >= CUTOFF)
    who = opportunities.stage_opportunity[won]
    pipeline = (opportunities.created[who] < CUTOFF) & ~closed_before[who]
    day = np.datetime64(full_history.origin) + opportunities.stage_time[won][pipeline].astype("timedelta64[D]")
    month = day.astype("datetime64[M]").astype(str)
    actual = {m["month"]: float(opportunities.amount[who][pipeline][month == m["month"]].sum())
              for m in past["months"]}
    assert past["months"][0]["month"] == "2025-07"   # day 550 after 2024-01-01
    inside = [m["low"] <= actual[m["month"]] <= m["high"] for m in past["months"]]
    assert all(inside), (past["months"], actual)
    assert past["total"]["low"] <= sum(actual.values()) <= past["total"]["high"], (past["total"], actual)
    assert past["total"]["low"] < past["total"]["expected"] < past["total"]["high"]


def test_bad_settings_are_refused(small_history):
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        forecast.forecast(small_history, level=1.5)
