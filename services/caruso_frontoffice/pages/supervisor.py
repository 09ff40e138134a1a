"""Supervisor pages (roles supervisor and admin): the live wallboard, reports with
charts, campaign control.

- ``/supervisor`` shows the status monitor's picture (``caruso.monitor/1``); the static
  script ``wallboard.js`` long-polls ``/supervisor/wallboard.json?since=VERSION``, which
  answers with the picture as soon as it is newer than ``since`` (or after
  ``WAIT`` seconds as it is), and redraws the tables without reloading the page.
- ``/supervisor/reports`` lists the report definitions of ``caruso.reports/1`` and runs
  one for a range of days (in the definition's time zone): its table, and its chart
  from ``/supervisor/reports/chart.png`` (the service's ``png`` renderer).
- ``/supervisor/campaigns`` lists the campaigns of ``caruso.comm/1`` with their
  progress; its buttons start, pause, resume them (CSRF-checked forms; done, a redirect
  back to the page, which says so once: :mod:`caruso_frontoffice.notices`).
- ``/supervisor/analytics`` shows what ``caruso.analytics/1`` knows: the stored churn
  models with their validation figures, the learned lead thresholds, the forecast for a
  chosen number of months and interval (its chart from
  ``/supervisor/analytics/forecast.png``), the last scoring and the last segmentation by each
  method with its summary (the mean figures; without one, the customers per stored
  segment); its buttons train, score and segment on demand (CSRF-checked forms): done, a
  redirect back to the page (with the forecast chosen), which says so once and shows the
  outcome as the service keeps it (``last_runs()``), so a reload runs nothing again; refused,
  the page with the service's refusal.

Every other component is reached through the manager; one that is missing or fails
shows as one line on the page.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from caruso_core import zones
from caruso_core.errors import CarusoError, Conflict, InvalidInput, NoInstance, NotFound
from caruso_core.digits import digits
from caruso_frontoffice import notices, widgets
from caruso_frontoffice.access import action, page
from caruso_frontoffice.context import Context

MONITOR, REPORTS, COMM = "caruso.monitor/1", "caruso.reports/1", "caruso.comm/1"
ANALYTICS = "caruso.analytics/1"
ROLES = ("supervisor", "admin")
WAIT = 10.0
MAX_DAYS = 366
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9998, 12, 31)   # the days whose midnights are times here
CAMPAIGN_ACTIONS = ("start", "pause", "resume")
STATUS_OF = {InvalidInput: 400, NotFound: 404, Conflict: 409}
ANALYTICS_LABELS = {"train": "Training", "score": "Scoring", "rfm": "RFM segmentation", "clusters": "Clustering"}
ANALYTICS_ACTIONS = tuple(ANALYTICS_LABELS)
SEGMENTATIONS = ("rfm", "clusters")
FORECAST_MONTHS = (3, 6, 12, 24)
FORECAST_LEVELS = (0.5, 0.8, 0.9, 0.95)
DEFAULT_HORIZON = (6, 0.8)
MAX_CHART_BYTES = 2 * 1024 * 1024
DOWNLOADS = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}
RENDERED_AS = {"csv": "spreadsheet"}      # for people: the definition's headings, a byte-order mark
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


@page(*ROLES)
def wallboard(request: Request, context: Context) -> Response:
    return context.render(request, "wallboard.html")


@page(*ROLES, long_poll=True)
def wallboard_json(request: Request, context: Context) -> Response:
    since = request.query_params.get("since", "-1")
    if not digits(since.lstrip("-")) or len(since) > 12:
        return JSONResponse({"error": f"since={since[:20]!r}: give the version of the last picture, a whole number"},
                            400)
    try:
        picture = context.client.service(MONITOR).updates(int(since), WAIT)
    except CarusoError as error:
        return JSONResponse({"error": f"The status monitor did not answer: {error}"}, 503)
    # the time zone's abbreviation at the picture's moment, as the pages write it (a browser's
    # own may differ: GMT-5 for EST)
    picture["abbreviation"] = dt.datetime.fromtimestamp(picture["time"], context.zone).tzname()
    return JSONResponse(picture)


@page(*ROLES)
def reports(request: Request, context: Context) -> Response:
    service = context.client.service(REPORTS)
    try:
        definitions = service.definitions()
    except CarusoError as error:
        return context.render(request, "reports.html", 503, definitions=[], chosen=None, report=None,
                              error=f"The reports service did not answer: {error}", query={})
    query = {key: request.query_params.get(key, "") for key in ("name", "from", "to")}
    if not query["name"]:
        today = zones.today(context.zone).isoformat()
        return context.render(request, "reports.html", definitions=definitions, chosen=None, report=None,
                              error=None, query={"name": "", "from": today, "to": today})
    try:
        chosen, options = _report_options(definitions, query)
        report = service.report(chosen["name"], *options)
    except CarusoError as error:
        return context.render(request, "reports.html", _status(error), definitions=definitions, chosen=None,
                              report=None, error=str(error), query=query)
    return context.render(request, "reports.html", definitions=definitions, chosen=chosen, report=report,
                          error=None, query=query, chart=request.url.query, downloads=DOWNLOADS)


@page(*ROLES)
def chart(request: Request, context: Context) -> Response:
    rendered = _rendered(request, context, "png-narrow" if request.query_params.get("size") == "narrow" else "png")
    return rendered if isinstance(rendered, Response) else Response(rendered[1], media_type="image/png")


@page(*ROLES)
def download(request: Request, context: Context) -> Response:
    """The report of the page's query as a file in the ``format`` asked (one of DOWNLOADS);
    CSV headed by the report's labels after a byte-order mark, as a list's export."""
    kind = request.query_params.get("format", "")
    if kind not in DOWNLOADS:
        return Response(f"format {kind[:20]!r}: use one of {', '.join(DOWNLOADS)}", 400, media_type="text/plain")
    rendered = _rendered(request, context, kind)
    if isinstance(rendered, Response):
        return rendered
    name, data = rendered
    if not isinstance(data, bytes) or len(data) > MAX_DOWNLOAD_BYTES:
        return Response("The reports service answered with no file of a sensible size.", 502, media_type="text/plain")
    filename = f"{re.sub(r'[^A-Za-z0-9_-]', '_', name)[:60]}-{request.query_params['from']}-{request.query_params['to']}"
    return Response(data, media_type=DOWNLOADS[kind],
                    headers={"Content-Disposition": f'attachment; filename="{filename}.{kind}"'})


def _rendered(request: Request, context: Context, kind: str) -> tuple[str, Any] | Response:
    """The report of the query's ``name``, ``from`` and ``to`` rendered as ``kind`` by the reports
    service, with the report's name; or the refusal as a one-line text response."""
    service = context.client.service(REPORTS)
    query = {key: request.query_params.get(key, "") for key in ("name", "from", "to")}
    try:
        chosen, options = _report_options(service.definitions(), query)
        return chosen["name"], service.render(chosen["name"], RENDERED_AS.get(kind, kind), *options)
    except CarusoError as error:
        return Response(str(error), _status(error), media_type="text/plain")


@page(*ROLES)
def campaigns(request: Request, context: Context) -> Response:
    return _campaigns_page(request, context)


@action(*ROLES)
def campaign_action(request: Request, context: Context, form: FormData) -> Response:
    name, wanted = str(form.get("name", ""))[:200], str(form.get("action", ""))
    if wanted not in CAMPAIGN_ACTIONS:
        return _campaigns_page(request, context, 400, error=f"Campaign action {wanted[:20]!r}: use "
                               f"{', '.join(CAMPAIGN_ACTIONS)}.")
    try:
        summary = context.client.service(COMM).campaign(name, wanted)
    except CarusoError as error:
        return _campaigns_page(request, context, _status(error), error=f"Campaign {name}: {error}")
    return notices.redirect(request, context.sessions, "/supervisor/campaigns",
                            f"Campaign {summary['name']} is {summary['state']}.")


def _campaigns_page(request: Request, context: Context, status: int = 200, *, error: str | None = None) -> Response:
    try:
        rows = [_with_progress(summary) for summary in context.client.service(COMM).campaigns()]
    except CarusoError as failure:
        rows, error = [], f"{error + ' ' if error else ''}The communication server did not answer: {failure}"
        status = max(status, 503)
    return context.render(request, "campaigns.html", status, campaigns=rows, error=error)


@page(*ROLES)
def analytics(request: Request, context: Context) -> Response:
    try:
        horizon = _forecast_choice(request.query_params)
    except InvalidInput as error:
        return _analytics_page(request, context, DEFAULT_HORIZON, 400, error=str(error))
    return _analytics_page(request, context, horizon)


@action(*ROLES)
def analytics_action(request: Request, context: Context, form: FormData) -> Response:
    """Train, score or segment; done, back to the page (with the forecast the form showed),
    which says so once and shows the outcome; refused, the page with the reason."""
    wanted = str(form.get("action", ""))
    try:
        horizon = _forecast_choice(form)
    except InvalidInput as error:
        return _analytics_page(request, context, DEFAULT_HORIZON, 400, error=str(error))
    if wanted not in ANALYTICS_ACTIONS:
        return _analytics_page(request, context, horizon, 400, error=f"Analytics action {wanted[:20]!r}: use "
                               f"{', '.join(ANALYTICS_ACTIONS)}.")
    try:
        said = _run(context.client.service(ANALYTICS), wanted)
    except CarusoError as error:
        why = "." if _not_deployed(context, error) else f": {error}"     # else the page says there is none
        return _analytics_page(request, context, horizon, _status(error),
                               error=f"{ANALYTICS_LABELS[wanted]} did not work{why}")
    query = "" if horizon == DEFAULT_HORIZON else urlencode({"months": horizon[0], "level": horizon[1]})
    return notices.redirect(request, context.sessions, "/supervisor/analytics", said, query)


def _run(service: Any, wanted: str) -> str:
    """Run the analytics action ``wanted``; what it did, in one line."""
    if wanted == "train":
        model = service.train()
        return f"Model version {model['version']} trained: what its figures say is below."
    if wanted == "score":
        scored = service.score()
        return f"{_scoring(scored)}; {scored['written']:,} customers' stored risk changed."
    found = service.segments(wanted)
    return (f"{found['customers']:,} customers segmented ({found['method']}); "
            f"{found['written']:,} customers' stored segment changed.")


@page(*ROLES)
def forecast_chart(request: Request, context: Context) -> Response:
    try:
        image = context.client.service(ANALYTICS).forecast_chart(*_forecast_choice(request.query_params))
    except CarusoError as error:
        return Response(str(error), _status(error), media_type="text/plain")
    if not isinstance(image, bytes) or len(image) > MAX_CHART_BYTES or not image.startswith(b"\x89PNG"):
        return Response("The analytics service answered with no PNG chart of a sensible size.", 502,
                        media_type="text/plain")
    return Response(image, media_type="image/png")


def _analytics_page(request: Request, context: Context, horizon: tuple[int, float], status: int = 200, *,
                    error: str | None = None) -> Response:
    """The analytics page: the models (without them, the page says the service did not
    answer), then each figure the service gives, or its one-line refusal in its place: the
    last scoring, the last segmentation by each method (else the customers per stored
    segment), the lead thresholds, the forecast."""
    service = context.client.service(ANALYTICS)
    try:
        models = [_with_words(model, context.zone) for model in reversed(service.models())]
    except CarusoError as failure:
        if _not_deployed(context, failure):
            line = ("This deployment does not run the analytics service (caruso.analytics/1); name it in the "
                    "deployment file to train models here (docs/analytics.md).")
        else:
            status, line = max(status, 503), f"The analytics service did not answer: {failure}"
        return context.render(request, "analytics.html", status, models=None,
                              error=f"{error + ' ' if error else ''}{line}",
                              horizon=horizon, choices=(FORECAST_MONTHS, FORECAST_LEVELS))
    figures = {name: _asked(ask) for name, ask in (
        ("thresholds", service.lead_thresholds), ("forecast", lambda: service.forecast(*horizon)))}
    last = _asked(service.last_runs)["value"] or {}
    runs = {kind: last.get(kind) and {**last[kind], "when": widgets.when(last[kind]["at"], context.zone)}
            for kind in ("score", *SEGMENTATIONS)}
    stored = {method: {"value": None, "refused": None} if runs[method] else
              _asked(lambda m=method: service.stored_segments(m)) for method in SEGMENTATIONS}
    return context.render(request, "analytics.html", status, models=models, error=error,
                          scoring=runs["score"] and _scoring(runs["score"]), runs=runs, stored=stored,
                          segmentations=SEGMENTATIONS, labels=ANALYTICS_LABELS, horizon=horizon,
                          choices=(FORECAST_MONTHS, FORECAST_LEVELS),
                          chart=urlencode({"months": horizon[0], "level": horizon[1]}), **figures)


def _not_deployed(context: Context, failure: CarusoError) -> bool:
    """Whether ``failure`` means that no analytics service is registered at all (an optional
    component left out), rather than that a registered one fails."""
    if not isinstance(failure, NoInstance):
        return False
    try:
        return not context.client.lookup(ANALYTICS)
    except CarusoError:
        return False


def _asked(ask: Any) -> dict[str, Any]:
    """``{"value": ask(), "refused": None}``, or the service's refusal as ``refused``."""
    try:
        return {"value": ask(), "refused": None}
    except CarusoError as error:
        return {"value": None, "refused": str(error)}


def _forecast_choice(given: Mapping[str, Any]) -> tuple[int, float]:
    """The months and interval level a query or form asks the forecast for (6 and 0.8 unless asked)."""
    months, level = str(given.get("months", DEFAULT_HORIZON[0])), str(given.get("level", DEFAULT_HORIZON[1]))
    if months not in {str(m) for m in FORECAST_MONTHS} or level not in {str(x) for x in FORECAST_LEVELS}:
        raise InvalidInput(f"Forecast: months one of {', '.join(map(str, FORECAST_MONTHS))} and level one of "
                           f"{', '.join(map(str, FORECAST_LEVELS))}, please (not {months[:10]!r}, {level[:10]!r}).")
    return int(months), float(level)


def _with_words(model: dict[str, Any], zone: dt.tzinfo) -> dict[str, Any]:
    """A stored model's summary with its training time in ``zone`` and its figures in words."""
    return {**model, "trained": widgets.when(model["trained_at"], zone), "words": _in_words(model["validation"])}


def _scoring(scored: dict[str, Any]) -> str:
    """What a scoring did (as ``score()`` answers it), in words."""
    return (f"{scored['customers']:,} customers scored with model version {scored['version']}: "
            f"{scored['at_risk']:,} at risk (a probability of {scored['threshold']:.0%} or more)")


def _in_words(figures: dict[str, Any]) -> str:
    """What a model's validation figures say, for a supervisor (docs/analytics.md)."""
    auc, baseline = figures["roc_auc"], figures["baseline_roc_auc"]
    said = (f"of a customer who left in the held-out period and one who stayed, it ranked the leaver riskier "
            f"{auc:.0%} of the time (a coin: 50%; days since the last contact alone: {baseline:.0%}); "
            f"it expected {figures['predicted_left']:,.0f} of {figures['customers']:,} customers to leave, "
            f"and {figures['left']:,} did.")
    expected, left = figures["predicted_left"], figures["left"]
    if auc - baseline < 0.05:
        said += " It adds little over days since the last contact: do not act on its scores."
    elif abs(expected - left) > max(0.25 * left, 2 * expected ** 0.5):     # off by more than chance explains
        said += " Its probabilities are off from what happened: do not act on its scores."
    return said[0].upper() + said[1:]


def _with_progress(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary with ``total`` contacts, ``finished`` ones (done or on the do-not-call
    list) and ``progress`` in whole percent."""
    contacts = summary.get("contacts", {})
    total = sum(contacts.values())
    finished = contacts.get("done", 0) + contacts.get("dnc", 0)
    return {**summary, "total": total, "finished": finished,
            "progress": round(100 * finished / total) if total else 0}


def _report_options(definitions: list[dict[str, Any]], query: dict[str, str]
                    ) -> tuple[dict[str, Any], tuple[float, float]]:
    """The definition named in ``query`` and the range of its days ``from``..``to``
    (inclusive, midnight to midnight in the definition's time zone) in Unix seconds."""
    chosen = next((d for d in definitions if d["name"] == query["name"]), None)
    if chosen is None:
        raise NotFound(f"There is no report {query['name'][:60]!r}; choose one of the list.")
    first, last = _day(query["from"], "From"), _day(query["to"], "To")
    if first < FIRST_DAY or last > LAST_DAY:
        raise InvalidInput(f"A report covers days from {FIRST_DAY} to {LAST_DAY}; choose days between them.")
    if last < first:
        raise InvalidInput("To is before From: the range would be empty.")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"The range is longer than {MAX_DAYS} days; choose a shorter one.")
    zone = zones.zone(chosen["timezone"], f"report {chosen['name']}")
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return chosen, (start.timestamp(), end.timestamp())


def _day(value: str, label: str) -> dt.date:
    return widgets.day(value, f"{label}: a date like 2026-11-29, please (not {value[:20]!r}).")


def _status(error: CarusoError) -> int:
    return next((status for kind, status in STATUS_OF.items() if isinstance(error, kind)), 503)


routes = [
    Route("/supervisor", wallboard, methods=["GET"]),
    Route("/supervisor/wallboard.json", wallboard_json, methods=["GET"]),
    Route("/supervisor/reports", reports, methods=["GET"]),
    Route("/supervisor/reports/chart.png", chart, methods=["GET"]),
    Route("/supervisor/reports/download", download, methods=["GET"]),
    Route("/supervisor/campaigns", campaigns, methods=["GET"]),
    Route("/supervisor/campaigns", campaign_action, methods=["POST"]),
    Route("/supervisor/analytics", analytics, methods=["GET"]),
    Route("/supervisor/analytics", analytics_action, methods=["POST"]),
    Route("/supervisor/analytics/forecast.png", forecast_chart, methods=["GET"]),
]
