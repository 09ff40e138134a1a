"""Reading the history from the storage service and writing results back, through its
interface only (queries in pages, one atomic ``apply``).

Where the history lives differs by vertical, so the deployment declares it (``source``),
as plain data merged over :data:`DEFAULT_SOURCE`: the customer object and its attributes;
one entry per event kind of :data:`~caruso_analytics.history.KINDS` (object, the attribute
naming the customer, the time, the value, a storage filter ``where``); the opportunities,
their stage changes and the leads. Dates and times arrive as ISO text; they become days
since 1970-01-01 (UTC). References to a customer are compared as text, so a reference held
as a string (the comm module's ``CommInteraction.customer``) finds an integer key; a
customers' ``joined`` of ``""`` says the model records no joining date (tenure unknown).
"""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from caruso_core.errors import ConfigError

from caruso_analytics.history import KINDS, STAGES, Events, History, Leads, Opportunities

PAGE = 10_000
PAGES_PER_CALL = 5
DEFAULT_SOURCE: dict[str, Any] = {
    "customers": {"object": "Customer", "key": "id", "joined": "created", "left": "left"},
    "events": [],
    "opportunities": None,
    "stage_changes": None,
    "leads": None,
}
EVENT_FIELDS = {"kind", "object", "customer", "at", "value", "where"}
SECTIONS = {
    "customers": {"object", "key", "joined", "left"},
    "opportunities": {"object", "key", "customer", "amount", "created"},
    "stage_changes": {"object", "opportunity", "stage", "at"},
    "leads": {"object", "score", "created", "converted"},
}


def checked(source: dict[str, Any] | None) -> dict[str, Any]:
    """``source`` merged over the defaults, every section and field checked (ConfigError)."""
    merged = {**DEFAULT_SOURCE, **(source or {})}
    unknown = set(merged) - set(DEFAULT_SOURCE)
    if unknown:
        raise ConfigError(f"source: unknown section {sorted(unknown)[0]!r}; sections: {', '.join(DEFAULT_SOURCE)}")
    if isinstance(merged["customers"], dict):
        merged["customers"] = {**DEFAULT_SOURCE["customers"], **merged["customers"]}
    for section, fields in SECTIONS.items():
        value = merged[section]
        if value is None and section != "customers":
            continue
        if not isinstance(value, dict) or set(value) != fields:
            raise ConfigError(f"source.{section}: needs exactly the fields {', '.join(sorted(fields))}")
    if (merged["opportunities"] is None) != (merged["stage_changes"] is None):
        raise ConfigError("source: opportunities and stage_changes go together")
    if not isinstance(merged["events"], list):
        raise ConfigError("source.events: a list of event sources")
    for index, entry in enumerate(merged["events"]):
        if not isinstance(entry, dict) or not {"kind", "object", "at"} <= set(entry) <= EVENT_FIELDS:
            raise ConfigError(f"source.events[{index}]: needs kind, object and at; may have "
                              f"customer, value, where")
        if entry["kind"] not in KINDS:
            raise ConfigError(f"source.events[{index}]: kind {entry['kind']!r} is none of {', '.join(KINDS)}")
    return merged


def days(values: list[Any]) -> np.ndarray:
    """ISO dates or date-times (None: NaN) as days since 1970-01-01."""
    text = [None if v is None else str(v)[:19] for v in values]
    stamps = np.array([t or "NaT" for t in text], dtype="datetime64[s]")
    result = stamps.astype("int64") / 86400.0
    result[np.isnat(stamps)] = np.nan
    return result


def numbers(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _all(storage: Any, object: str, where: Any = None) -> list[dict[str, Any]]:
    """Every record of ``object`` matching ``where``: pages of :data:`PAGE` records, up to
    :data:`PAGES_PER_CALL` of them per round trip, as JSON text (much faster on the wire)."""
    total = storage.count(object, where)
    order = storage.describe(object)["key"]    # a stable order for the pages
    rows: list[dict[str, Any]] = []
    while len(rows) < total:
        pages = [{"op": "query", "object": object, "where": where, "order_by": order, "limit": PAGE,
                  "offset": offset} for offset in range(len(rows), total, PAGE)][:PAGES_PER_CALL]
        found = [row for page in json.loads(storage.read(json.dumps(pages))) for row in page]
        if not found:
            break
        rows += found
    return rows


def read(storage: Any, source: dict[str, Any], now: float | None = None, current: tuple[str, ...] = ()) -> History:
    """The history the storage holds, as ``source`` (already :func:`checked`) maps it, with
    the customers' stored values of the attributes ``current``."""
    customers = source["customers"]
    rows = _all(storage, customers["object"])
    ids = np.array([row[customers["key"]] for row in rows], dtype=np.int64)
    index = {str(key): position for position, key in enumerate(ids.tolist())}
    joined = days([row[customers["joined"]] if customers["joined"] else None for row in rows])
    left = days([row[customers["left"]] for row in rows])
    moment = time.time() / 86400.0 if now is None else float(now)
    parts = []
    for entry in source["events"]:
        found = _all(storage, entry["object"], entry.get("where"))
        owner = [index.get(str(row[entry.get("customer", "customer_id")]), -1) for row in found]
        at = days([row[entry["at"]] for row in found])
        value = _values(entry, found)
        keep = (np.array(owner, dtype=np.int64) >= 0) & ~np.isnan(at)
        parts.append((np.array(owner, dtype=np.int64)[keep], at[keep],
                      np.full(keep.sum(), list(KINDS).index(entry["kind"])), value[keep]))
    events = Events.of(*(np.concatenate([p[i] for p in parts]) if parts else [] for i in range(4)))
    known = joined[~np.isnan(joined)]   # unknown: as the oldest customer, else from the first event on
    joined[np.isnan(joined)] = known.min() if len(known) else events.time.min(initial=moment)
    return History(ids, joined, left, events, _opportunities(storage, source, index), _leads(storage, source["leads"]),
                   moment, current={name: [row.get(name) for row in rows] for name in current})


def _values(entry: dict[str, Any], found: list[dict[str, Any]]) -> np.ndarray:
    if "value" not in entry:
        return np.zeros(len(found))
    if entry["kind"] == "complaint":   # the time it was resolved; open ones: never
        return np.nan_to_num(days([row[entry["value"]] for row in found]), nan=np.inf)
    return numbers([row[entry["value"]] for row in found])


def _opportunities(storage: Any, source: dict[str, Any], customer: dict[int, int]) -> Opportunities:
    mapping, changes = source["opportunities"], source["stage_changes"]
    if mapping is None:
        empty = np.empty(0)
        return Opportunities(empty.astype(np.int32), empty, empty, empty.astype(np.int32), empty.astype(np.int8), empty)
    rows = _all(storage, mapping["object"])
    position = {row[mapping["key"]]: n for n, row in enumerate(rows)}
    moves = [row for row in _all(storage, changes["object"]) if row[changes["opportunity"]] in position
             and row[changes["stage"]] in STAGES and row[changes["at"]] is not None]
    which = np.array([position[row[changes["opportunity"]]] for row in moves], dtype=np.int32)
    when = days([row[changes["at"]] for row in moves])
    stage = np.array([STAGES.index(row[changes["stage"]]) for row in moves], dtype=np.int8)
    order = np.lexsort((stage, when, which))   # stages of one day in their order
    return Opportunities(np.array([customer.get(str(row[mapping["customer"]]), -1) for row in rows], dtype=np.int32),
                         numbers([row[mapping["amount"]] for row in rows]),
                         days([row[mapping["created"]] for row in rows]), which[order], stage[order], when[order])


def _leads(storage: Any, mapping: dict[str, Any] | None) -> Leads:
    rows = _all(storage, mapping["object"]) if mapping else []
    return Leads(numbers(_column(rows, mapping, "score")), days(_column(rows, mapping, "created")),
                 days(_column(rows, mapping, "converted")))


def _column(rows: list[dict[str, Any]], mapping: dict[str, Any] | None, field: str) -> list[Any]:
    return [row[mapping[field]] for row in rows] if mapping else []


def write(storage: Any, object: str, keys: list[Any], values: dict[str, list[Any]]) -> int:
    """Set the attributes ``values`` (name: one value per key) of the objects ``keys`` in one
    atomic ``apply``: all are written or, on an error, none. How many were updated."""
    operations = [{"op": "update", "object": object, "key": key,
                   "values": {name: column[n] for name, column in values.items()}}
                  for n, key in enumerate(keys)]
    return storage.apply(json.dumps(operations), "count") if operations else 0
