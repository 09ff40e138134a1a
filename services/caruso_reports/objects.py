"""Reports over business objects: a definition with ``object = "NAME"`` counts the objects
of that name the storage service (``caruso.storage/1``) holds now, grouped by some of
their attributes (the sales pipeline by stage, leads by status, service orders by
contract).

Measures (:data:`caruso_reports.measures.OBJECT_MEASURE`): ``count``; ``sum.ATTR`` and ``avg.ATTR`` of a number attribute (empty values
left out); ``count.ATTR=VALUE``, the objects whose attribute holds ``VALUE``; and
``share.ATTR=VALUE``, their share of the group. Dimensions are attributes of the object,
shown by their choice labels where the model declares them (``(none)`` for empty ones);
``filters`` keep the objects whose attribute is one of the values. Objects are read
``PAGE`` at a time in key order; more than ``MAX_OBJECTS`` are refused (filter them).
Names are checked against the model when the report runs: a ConfigError names the
report, the object and the attribute.
"""
from __future__ import annotations

import re
from typing import Any

from caruso_core.errors import ConfigError, NotFound

from caruso_reports.measures import OBJECT_MEASURE
from caruso_reports.report import Report

PAGE = 1000
MAX_OBJECTS = 200_000
NONE = "(none)"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NUMBERS = ("integer", "decimal", "float")


def check_names(dimensions: tuple[str, ...], measures: tuple[str, ...], filters: dict[str, Any], where: str) -> None:
    """The syntax of an object report's names (the model is asked when it runs)."""
    for measure in measures:
        if not OBJECT_MEASURE.match(measure):
            raise ConfigError(f"{where}: unknown object measure {measure!r}; use count, sum.ATTRIBUTE, "
                              "avg.ATTRIBUTE, count.ATTRIBUTE=VALUE or share.ATTRIBUTE=VALUE")
    for name in (*dimensions, *filters):
        if not NAME.match(name):
            raise ConfigError(f"{where}: {name!r} is not an attribute name (dimensions and filters of an "
                              "object report are attributes of the object)")


def compute(storage: Any, definition: Any) -> Report:
    """The report of the object ``definition.object`` as the storage holds it now."""
    where = f"report {definition.name!r}"
    try:
        described = storage.describe(definition.object)
    except NotFound:
        raise ConfigError(f"{where}: the model has no object {definition.object!r}") from None
    attributes = described.get("attributes") or {}
    measures = [OBJECT_MEASURE.match(m) for m in definition.measures]
    used = [*definition.dimensions, *definition.filters,
            *(m["of"] or m["field"] for m in measures if m["of"] or m["field"])]
    for name in used:
        if name not in attributes:
            raise ConfigError(f"{where}: {definition.object} has no attribute {name!r} "
                              f"(attributes: {', '.join(attributes)})")
    for found in measures:
        if found["of"] and attributes[found["of"]].get("type") not in NUMBERS:
            raise ConfigError(f"{where}: {found[0]} needs a number attribute; {found['of']} is "
                              f"{attributes[found['of']].get('type')}")
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in _objects(storage, definition):
        groups.setdefault(tuple(record.get(d) for d in definition.dimensions), []).append(record)
    labels = {d: attributes[d].get("choice_labels") or {} for d in definition.dimensions}
    rows = []
    for key in sorted(groups, key=lambda parts: [(part is None, str(part)) for part in parts]):
        row: dict[str, Any] = {d: NONE if part is None else labels[d].get(part, part)
                               for d, part in zip(definition.dimensions, key)}
        row.update({found[0]: _figure(found, groups[key]) for found in measures})
        rows.append(row)
    return Report(name=definition.name, title=definition.title, dimensions=definition.dimensions,
                  measures=definition.measures, rows=tuple(rows), period=definition.period,
                  timezone=definition.timezone, chart_kind=definition.chart_kind,
                  chart_measures=definition.chart_measures, labels=definition.labels)


def _objects(storage: Any, definition: Any) -> list[dict[str, Any]]:
    conditions = [{"field": name, "op": "in", "value": list(values)} for name, values in definition.filters.items()]
    condition = {"and": conditions} if conditions else None
    found: list[dict[str, Any]] = []
    while True:
        page = storage.query(definition.object, condition, None, PAGE, len(found))   # in key order
        found += page
        if len(found) > MAX_OBJECTS:
            raise ConfigError(f"report {definition.name!r}: more than {MAX_OBJECTS} {definition.object} objects; "
                              "add filters to report on fewer")
        if len(page) < PAGE:
            return found


def _figure(found: re.Match[str], records: list[dict[str, Any]]) -> Any:
    if found["plain"]:
        return len(records)
    if found["aggregate"]:
        numbers = [float(r[found["of"]]) for r in records if r.get(found["of"]) is not None]
        total = sum(numbers)
        return round(total, 2) if found["aggregate"] == "sum" else (round(total / len(numbers), 2) if numbers else None)
    matching = sum(str(r.get(found["field"])) == found["value"] for r in records)
    return matching if found["matching"] == "count" else matching / len(records)
