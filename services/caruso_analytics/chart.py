"""The forecast as a chart: expected won revenue per month as bars, the interval as error
bars (PNG, drawn with matplotlib's Agg backend, no display needed)."""
from __future__ import annotations

import io
from typing import Any


def forecast_png(forecast: dict[str, Any]) -> bytes:
    """A PNG of a forecast as :func:`caruso_analytics.forecast.forecast` returns it."""
    from matplotlib.figure import Figure

    months = forecast["months"]
    expected = [month["expected"] for month in months]
    below = [max(month["expected"] - month["low"], 0) for month in months]    # a skewed month's mean
    above = [max(month["high"] - month["expected"], 0) for month in months]   # may lie outside its interval
    figure = Figure(figsize=(9, 4), dpi=100, layout="constrained")
    axis = figure.subplots()
    axis.bar([month["month"] for month in months], expected, yerr=[below, above], capsize=4, color="#4878a8")
    axis.set_title(f"Open pipeline: expected won revenue per month ({forecast['level']:.0%} interval, "
                   f"{forecast['open_opportunities']:,} open opportunities)", loc="left", fontsize=10)
    axis.grid(axis="y", alpha=0.3)
    axis.yaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()
