"""Forecast of the open pipeline's revenue per calendar month, with an interval.

Learned from the opportunities that entered a stage at least ``settled`` days ago (nearly
all of them closed by now; younger ones would favour the quickly closed): for each open
stage, the share of the closed ones that were won (the stage probability), the days spent
in it by those that went on, and the days from entering it to winning.
Each open opportunity is then simulated ``simulations`` times: won with its stage's
probability (itself drawn from its Beta posterior, so few closed examples widen the
interval), on the day it leaves its stage (drawn from the stays longer than it has been
there already) plus the days to winning from the next stage. The forecast of a month is the mean won amount
closing in it, with the ``level`` interval of the simulations. Only the pipeline open now
is forecast: opportunities not created yet are not in it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from caruso_analytics.history import LOST, OPEN_STAGES, WON, History


def stage_figures(history: History, settled: float = 180.0) -> dict[str, dict[str, Any]]:
    """Per open stage: closed opportunities that entered it ``settled`` days ago or earlier,
    won ones, probability, days in the stage of those that went on, days to win (both sorted)."""
    opportunities = history.opportunities
    closing = np.isin(opportunities.stage, [WON, LOST])
    outcome = np.full(len(opportunities.amount), -1)
    outcome[opportunities.stage_opportunity[closing]] = opportunities.stage[closing]
    won_at = np.full(len(opportunities.amount), np.nan)
    won_at[opportunities.stage_opportunity[opportunities.stage == WON]] = \
        opportunities.stage_time[opportunities.stage == WON]
    figures = {}
    for code, name in enumerate(OPEN_STAGES):
        rows = (opportunities.stage == code) & (opportunities.stage_time <= history.now - settled)
        who, entered = opportunities.stage_opportunity[rows], opportunities.stage_time[rows]
        following = np.flatnonzero(rows) + 1      # the next row: the stage this opportunity went to
        went_on = following[(following < len(opportunities.stage))]
        went_on = went_on[(opportunities.stage_opportunity[went_on] == opportunities.stage_opportunity[went_on - 1])
                          & (opportunities.stage[went_on] != LOST)]
        won, lost = outcome[who] == WON, outcome[who] == LOST
        figures[name] = {"won": int(won.sum()), "lost": int(lost.sum()),
                         "probability": float(won.sum() / max(won.sum() + lost.sum(), 1)),
                         "days_in_stage": np.sort(opportunities.stage_time[went_on]
                                                  - opportunities.stage_time[went_on - 1]),
                         "days_to_win": np.sort(won_at[who][won] - entered[won])}
    return figures


def forecast(history: History, months: int = 6, simulations: int = 2000, level: float = 0.8,
             seed: int = 0, settled: float = 180.0) -> dict[str, Any]:
    """Expected won revenue of the open pipeline for the next ``months`` calendar months."""
    if not 0 < level < 1 or months < 1 or simulations < 10:
        raise ValueError("level must be between 0 and 1, months at least 1 and simulations at least 10")
    opportunities, rng = history.opportunities, np.random.default_rng(seed)
    figures = stage_figures(history, settled)
    if sum(f["won"] for f in figures.values()) < 10:
        raise ValueError("fewer than 10 won opportunities: too few to learn stage probabilities from")
    last = np.full(len(opportunities.amount), -1)
    entered = np.zeros(len(opportunities.amount))
    last[opportunities.stage_opportunity] = opportunities.stage   # rows are ordered in time per opportunity
    entered[opportunities.stage_opportunity] = opportunities.stage_time
    open_now = np.flatnonzero((last >= 0) & (last < len(OPEN_STAGES)))
    origin = np.datetime64(history.origin, "D")
    first_month = (origin + np.timedelta64(int(history.now), "D")).astype("datetime64[M]")
    wins = np.zeros((simulations, months))
    for code, name in enumerate(OPEN_STAGES):
        here = open_now[last[open_now] == code]
        stays = figures[name]["days_in_stage"]
        after = figures[OPEN_STAGES[code + 1]]["days_to_win"] if code + 1 < len(OPEN_STAGES) else np.zeros(1)
        if not len(here) or not len(stays) or not len(after):
            continue
        chance = rng.beta(figures[name]["won"] + 1, figures[name]["lost"] + 1, (simulations, 1))
        won = rng.random((simulations, len(here))) < chance
        waited = history.now - entered[here]
        start = np.searchsorted(stays, waited, side="right")
        pick = np.minimum(start + (rng.random((simulations, len(here))) * (len(stays) - start)).astype(int),
                          len(stays) - 1)
        close = (entered[here] + np.maximum(stays[pick], waited)
                 + after[rng.integers(0, len(after), (simulations, len(here)))])
        month = ((origin + close.astype("timedelta64[D]")).astype("datetime64[M]") - first_month).astype(int)
        inside = won & (month < months)
        for index in range(simulations):
            wins[index] += np.bincount(month[index][inside[index]], weights=opportunities.amount[here][inside[index]],
                                       minlength=months)
    low, high = (1 - level) / 2, (1 + level) / 2

    def band(values: np.ndarray) -> dict[str, float]:
        return {"expected": round(float(values.mean()), 2), "low": round(float(np.quantile(values, low)), 2),
                "high": round(float(np.quantile(values, high)), 2)}

    return {"level": level, "open_opportunities": int(len(open_now)),
            "stages": {name: {"probability": round(f["probability"], 4), "won": f["won"], "lost": f["lost"]}
                       for name, f in figures.items()},
            "months": [{"month": str(first_month + offset), **band(wins[:, offset])} for offset in range(months)],
            "total": band(wins.sum(axis=1))}
