"""The analytics service ``caruso.analytics/1``: churn risk, segments, lead thresholds and
the pipeline forecast over the history the storage service holds (docs/analytics.md).

Training, scoring and segmenting read the history afresh through ``caruso.storage/1`` as
``source`` maps it (:mod:`caruso_analytics.source`) and write their results back to customer
attributes the model declares, in one atomic batch of the customers whose values changed
(customers who left get empty values); an attribute configured as ``""`` is not written.
The figures nothing is written from (lead thresholds, forecasts and their charts) come from
a history read at most ``figures_max_age`` seconds before (60; 0: afresh each time) and are
kept as long, so a page showing them and its chart read the storage once.

Configuration: ``source``; ``risk_attribute`` (default ``churn_risk``), ``factors_attribute``
(``churn_factors``), ``segment_attribute`` (``rfm_segment``), ``cluster_attribute``
(``cluster``); ``cluster_features`` (names of :data:`caruso_analytics.features.FEATURES`),
``clusters`` (5), ``seed`` (0); ``horizon`` (days ahead the churn risk looks, 90);
``at_risk`` (the probability from which a customer counts as at risk, 0.2); ``figures_max_age``
(seconds, above); ``warm_lift``
and ``hot_lift`` (1.0, 2.0); ``retrain_every`` (seconds between scheduled trainings, each
followed by scoring; 0: only on demand); ``models_file`` (default ``analytics-models.json``
in the data folder); ``runs_file`` (the outcome of the last scoring and segmentations, which
:meth:`AnalyticsService.last_runs` answers; default ``analytics-runs.json`` beside the models file).
"""
from __future__ import annotations

import copy
import importlib.util
import logging
import threading
import time
from typing import Any, Callable, TypeVar

from caruso_core import remote, service
from caruso_core.deployment import data_dir
from caruso_core.errors import ConfigError, InvalidInput, NotFound

from caruso_analytics import chart, churn, features, forecast, leads, segments
from caruso_analytics.history import History
from caruso_analytics.models import ModelStore, RunStore, summary
from caruso_analytics.source import checked as checked_source, read as read_history, write as write_back

# The models import scikit-learn, SciPy and matplotlib (a second) where they fit or draw, so a
# process that only reads this service's spec (`caruso up`, `caruso init`) does not pay for
# them; an install without scikit-learn is still refused on import, naming the extra.
if importlib.util.find_spec("sklearn") is None:
    raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")

MODELS_FILE = "analytics-models.json"
RUNS_FILE = "analytics-runs.json"
FIGURES_KEPT = 64          # figures kept from one history at most
log = logging.getLogger(__name__)
T = TypeVar("T")


def _modelling(work: Callable[[], T]) -> T:
    """``work()``, with a model's refusal of the data (ValueError) as InvalidInput."""
    try:
        return work()
    except ValueError as error:
        raise InvalidInput(str(error)) from None


@service(name="analytics", interface="caruso.analytics/1", version="1.0.0", requires=("caruso.storage/1",))
class AnalyticsService:
    """Models over the storage's history; results written back to customer attributes."""

    def __init__(self, source: dict[str, Any] | None = None, risk_attribute: str = "churn_risk",
                 factors_attribute: str = "churn_factors", segment_attribute: str = "rfm_segment",
                 cluster_attribute: str = "cluster", cluster_features: list[str] | None = None,
                 clusters: int = 5, seed: int = 0, horizon: float = 90.0, at_risk: float = 0.2,
                 warm_lift: float = 1.0, hot_lift: float = 2.0, retrain_every: float = 0.0,
                 figures_max_age: float = 60.0, models_file: str | None = None, runs_file: str | None = None,
                 context: Any = None) -> None:
        self.source = checked_source(source)
        self.attributes = {"risk": risk_attribute, "factors": factors_attribute,
                           "rfm": segment_attribute, "clusters": cluster_attribute}
        self.cluster_features = list(cluster_features or ["revenue_365_days", "purchases_365_days",
                                                          "contacts_90_days"])
        unknown = [name for name in self.cluster_features if name not in features.FEATURES]
        if unknown:
            raise ConfigError(f"cluster_features: {unknown[0]!r} is not a feature; known: {', '.join(features.FEATURES)}")
        self.clusters, self.seed, self.horizon = int(clusters), int(seed), float(horizon)
        self.at_risk, self.lifts = float(at_risk), (float(warm_lift), float(hot_lift))
        self.retrain_every = float(retrain_every)
        self.figures_max_age = float(figures_max_age)
        if not self.figures_max_age >= 0:
            raise ConfigError(f"figures_max_age: seconds, 0 or more, not {figures_max_age!r}")
        self._figures: tuple[float, History, dict[tuple[Any, ...], Any]] | None = None
        self._figures_lock = threading.Lock()
        self._reads = 0                                    # history reads for figures ended, and the
        self._read_failure: Exception | None = None       # last one's error (None: it succeeded)
        self.store = ModelStore(models_file or data_dir() / MODELS_FILE)
        self.runs = RunStore(runs_file or self.store.path.with_name(RUNS_FILE))
        self.context = context
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._retrain_on_schedule, name="analytics-retrain", daemon=True)

    def start(self) -> None:
        if self.retrain_every > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def health(self) -> dict[str, Any]:
        latest = self.store.summaries()[-1:] or [None]
        return {"status": "ok", "model": latest[0]}

    def _storage(self) -> Any:
        return self.context.client.service("caruso.storage/1")

    def _history(self) -> History:
        return read_history(self._storage(), self.source, current=tuple(filter(None, self.attributes.values())))

    def _figure(self, key: tuple[Any, ...], compute: Callable[[History], T]) -> T:
        """A figure nothing is written from, computed from a history read at most
        ``figures_max_age`` seconds ago and kept as long (one at a time: a second asker waits
        for the first's answer instead of reading the history again). When that read failed,
        the askers who waited for it get its error instead of reading again, so a storage that
        does not answer holds them all one call timeout, not one each in turn."""
        waited_for = self._reads
        with self._figures_lock:
            if self._reads != waited_for and self._read_failure is not None:
                raise copy.copy(self._read_failure)        # each asker its own, without the reader's frames
            now = time.monotonic()
            if self._figures is None or now - self._figures[0] >= self.figures_max_age:
                try:
                    self._figures, self._read_failure = (now, self._history(), {}), None
                except Exception as error:
                    self._read_failure = copy.copy(error)
                    raise
                finally:
                    self._reads += 1
            _, history, known = self._figures
            if key not in known:
                if len(known) >= FIGURES_KEPT:           # callers choose the keys (a forecast's level)
                    known.clear()
                known[key] = _modelling(lambda: compute(history))
            return known[key]

    def _write(self, history: History, customers: Any, values: dict[str, list[Any]]) -> int:
        """Write ``values`` (one per customer of ``customers``) back, and empty values to every
        other customer (those who left): a result never outlives the customer's relationship.
        Only customers whose stored values differ are written. How many were."""
        wanted = {self.attributes[name]: column for name, column in values.items() if self.attributes[name]}
        for attribute, column in wanted.items():
            full: list[Any] = [None] * history.size
            for position, value in zip(customers.tolist(), column):
                full[position] = value
            wanted[attribute] = full
        changed = [position for position in range(history.size)
                   if any(column[position] != history.current[name][position] for name, column in wanted.items())]
        return write_back(self._storage(), self.source["customers"]["object"],
                          history.customer_ids[changed].tolist(),
                          {name: [column[position] for position in changed] for name, column in wanted.items()})

    @remote
    def train(self) -> dict[str, Any]:
        """Train a churn model on the history now, store it as the next version; its summary
        (``version``, ``trained_at``, ``horizon``, ``cutoff``, ``validation``)."""
        with self._lock:
            model = self.store.save(_modelling(lambda: churn.train(self._history(), self.horizon)))
        return summary(model.to_dict())

    @remote
    def score(self) -> dict[str, Any]:
        """Score the active customers with the newest model and write their risk and top factors
        back; ``version``, ``customers``, ``at_risk`` (how many from the ``at_risk`` probability),
        ``written`` (customers whose stored values changed)."""
        with self._lock:
            model = self.store.latest()
            if model is None:
                raise NotFound("no churn model yet: train one first (caruso analytics train)")
            history = self._history()
            found = _modelling(lambda: churn.score(model, history))
            risks = [round(float(p), 3) for p in found.probability]     # as stored, and so as counted:
            written = self._write(history, found.customers,             # at_risk_target selects on them
                                  {"risk": risks, "factors": [", ".join(names) for names in found.factors]})
            done = {"version": model.version, "customers": int(len(found.customers)), "written": written,
                    "at_risk": sum(risk >= self.at_risk for risk in risks), "threshold": self.at_risk}
            self.runs.record("score", done)
        return done

    @remote
    def at_risk_target(self, number: str = "phone") -> dict[str, Any]:
        """The campaign target "at risk": a storage query of the customers whose stored risk is
        at least ``at_risk``, as the communication server's ``add_campaign(contacts_query=...)``
        takes it (``number``: the attribute holding their phone number)."""
        if not self.attributes["risk"]:
            raise InvalidInput("at_risk_target: risk_attribute is empty, so no risk is stored")
        customers = self.source["customers"]
        return {"object": customers["object"], "where": {"field": self.attributes["risk"], "op": "ge",
                                                         "value": self.at_risk},
                "number": number, "customer": customers["key"]}

    @remote
    def segments(self, method: str = "rfm") -> dict[str, Any]:
        """Segment the active customers by ``method`` (``rfm`` or ``clusters``), write each one's
        segment back; ``method``, ``customers``, ``written`` and a ``summary`` row per segment."""
        if method not in ("rfm", "clusters"):
            raise InvalidInput(f"segments: method {method!r} is neither rfm nor clusters")
        history = self._history()
        if method == "rfm":
            found = _modelling(lambda: segments.rfm(history))
        else:
            found = _modelling(lambda: segments.clusters(history, self.cluster_features, self.clusters, self.seed))
        written = self._write(history, found.customers, {method: found.labels})
        done = {"method": method, "customers": len(found.labels), "written": written, "summary": found.summary}
        self.runs.record(method, done)
        return done

    @remote
    def last_runs(self) -> dict[str, dict[str, Any] | None]:
        """The last :meth:`score` and the last :meth:`segments` by each method as they answered,
        each with ``at`` (when it ran, Unix seconds), under ``score``, ``rfm`` and ``clusters``;
        None for one that has not run (kept in ``runs_file`` across restarts)."""
        return self.runs.last()

    @remote
    def stored_segments(self, method: str = "rfm") -> list[dict[str, Any]]:
        """How many customers hold each segment of ``method`` in its stored attribute, as the
        last :meth:`segments` wrote it back: ``segment`` and ``customers``, in the order of
        :meth:`segments`' summary, segments nobody holds left out."""
        if method not in ("rfm", "clusters"):
            raise InvalidInput(f"stored_segments: method {method!r} is neither rfm nor clusters")
        attribute = self.attributes[method]
        if not attribute:
            return []
        names = ([name for name, *_ in segments.RFM_SEGMENTS] if method == "rfm"
                 else [f"cluster {n}" for n in range(1, self.clusters + 1)])
        storage, customers = self._storage(), self.source["customers"]["object"]
        counts = [{"segment": name, "customers": storage.count(customers, {"field": attribute, "op": "eq",
                                                                           "value": name})} for name in names]
        return [row for row in counts if row["customers"]]

    @remote
    def lead_thresholds(self) -> dict[str, Any]:
        """Hot and warm score thresholds learned from the leads' conversions (docs/analytics.md)."""
        return self._figure(("thresholds",), lambda history: leads.thresholds(history, *self.lifts))

    @remote
    def forecast(self, months: int = 6, level: float = 0.8) -> dict[str, Any]:
        """The open pipeline's expected won revenue for the next ``months`` calendar months with
        the ``level`` interval, and the stage probabilities learned."""
        if not isinstance(months, int) or not 1 <= months <= 36:
            raise InvalidInput("forecast: months must be an integer from 1 to 36")
        level = _modelling(lambda: float(level))
        return self._figure(("forecast", months, level),
                            lambda history: forecast.forecast(history, months, level=level, seed=self.seed))

    @remote
    def forecast_chart(self, months: int = 6, level: float = 0.8) -> bytes:
        """The :meth:`forecast` as a PNG chart: bars per month, the interval as error bars."""
        return chart.forecast_png(self.forecast(months, level))

    @remote
    def models(self) -> list[dict[str, Any]]:
        """The stored churn models, oldest first: version, training time, validation figures."""
        return self.store.summaries()

    def _retrain_on_schedule(self) -> None:
        while not self._stopping.wait(self.retrain_every):
            try:
                self.train()
                self.score()
            except Exception:   # a failed run must not end the schedule; the next one retries
                log.exception("scheduled training failed; retrying in %s s", self.retrain_every)
