"""``caruso analytics train|score|segments|leads|forecast|models``: ask the running solution's
``caruso.analytics/1`` service, show what it did as lines of text (``--json``: as JSON).

Work in progress is shown on a terminal's standard error (:mod:`caruso_core.progress`);
a mistake (no service, no model yet, data too thin for a model) is one line and a failing exit.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import click

from caruso_core import connect, privatefiles, progress
from caruso_core.cli import Finite, manager_option
from caruso_core.errors import ConfigError

from caruso_analytics.chart import forecast_png


def _service(manager_uri: str | None) -> Any:
    return connect(manager_uri).get("caruso.analytics/1")


def _show(result: Any, as_json: bool, lines: Callable[[Any], list[str]]) -> None:
    click.echo(json.dumps(result, sort_keys=True) if as_json else "\n".join(lines(result)))


def _json_option(command: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")(command)


@click.group()
def analytics() -> None:
    """Churn risk, segments, lead thresholds and forecasts (docs/analytics.md)."""


def _trained(model: dict[str, Any]) -> list[str]:
    figures = model["validation"]
    return [f"churn model v{model['version']}: ROC AUC {figures['roc_auc']:.3f} on the last {model['horizon']:g} days "
            f"(recency alone {figures['baseline_roc_auc']:.3f}), {figures['customers']:,} customers, "
            f"{figures['left']:,} left ({figures['predicted_left']:,.0f} predicted)"]


@analytics.command()
@_json_option
@manager_option
def train(as_json: bool, manager_uri: str | None) -> None:
    """Train a churn model on the history now and store it as the next version."""
    with progress.step("training the churn model"):
        model = _service(manager_uri).train()
    _show(model, as_json, _trained)


@analytics.command()
@_json_option
@manager_option
def score(as_json: bool, manager_uri: str | None) -> None:
    """Score the active customers with the newest model; write risk and factors back."""
    with progress.step("scoring the customers"):
        done = _service(manager_uri).score()
    _show(done, as_json, lambda d: [f"scored {d['customers']:,} customers with model v{d['version']}: "
                                    f"{d['at_risk']:,} at risk (probability >= {d['threshold']:g})"])


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(rows[0]) if rows else []
    cells = [[f"{row[c]:,.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    return ["  ".join(c.ljust(w) for c, w in zip(columns, widths))] + \
           ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))) for r in cells]


@analytics.command()
@click.option("--method", type=click.Choice(["rfm", "clusters"]), default="rfm", show_default=True,
              help="RFM segments or clusters over the configured features.")
@_json_option
@manager_option
def segments(method: str, as_json: bool, manager_uri: str | None) -> None:
    """Segment the active customers and write each one's segment back."""
    with progress.step(f"segmenting the customers ({method})"):
        found = _service(manager_uri).segments(method)
    _show(found, as_json, lambda f: [f"{f['customers']:,} customers in {len(f['summary'])} segments ({method})",
                                     *_table(f["summary"])])


def _thresholds(found: dict[str, Any]) -> list[str]:
    def score(value: float | None) -> str:
        return "none" if value is None else f"{value:g}"

    held = found["held_out"]
    return [f"hot from score {score(found['hot'])}, warm from {score(found['warm'])} "
            f"(average conversion {found['average_rate']:.1%} of {found['leads']:,} leads)",
            "held-out recent leads: " + ", ".join(
                f"{band} {held[band]['rate']:.1%} of {held[band]['leads']:,}" if held[band]["rate"] is not None
                else f"{band}: none" for band in ("hot", "warm", "cold"))]


@analytics.command()
@_json_option
@manager_option
def leads(as_json: bool, manager_uri: str | None) -> None:
    """Hot and warm lead-score thresholds learned from conversions."""
    with progress.step("learning lead thresholds"):
        found = _service(manager_uri).lead_thresholds()
    _show(found, as_json, _thresholds)


@analytics.command()
@click.option("--months", type=click.IntRange(1, 36), default=6, show_default=True, help="Calendar months ahead.")
@click.option("--level", type=Finite(0.5, 0.99), default=0.8, show_default=True,
              help="Probability that the interval holds.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Also write the forecast as a PNG chart to this file.")
@_json_option
@manager_option
def forecast(months: int, level: float, chart: str | None, as_json: bool, manager_uri: str | None) -> None:
    """Expected won revenue of the open pipeline per month, with an interval."""
    with progress.step("forecasting the pipeline"):
        found = _service(manager_uri).forecast(months, level)
    if chart:
        try:
            privatefiles.write_file(chart, forecast_png(found))
        except OSError as error:
            raise ConfigError(f"--chart {chart}: cannot write: {error.strerror}") from None
    _show(found, as_json, lambda f: [
        f"{f['open_opportunities']:,} open opportunities; {f['level']:.0%} interval",
        *_table(f["months"] + [{"month": "total", **f["total"]}])])


@analytics.command()
@_json_option
@manager_option
def models(as_json: bool, manager_uri: str | None) -> None:
    """The stored churn models and their validation figures, oldest first."""
    found = _service(manager_uri).models()
    _show(found, as_json, lambda stored: [line for model in stored for line in _trained(model)] or ["no models yet"])
