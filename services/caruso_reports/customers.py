"""Customer attributes as report dimensions: ``customer.NAME`` groups interactions by the
attribute ``NAME`` of the customer they came from (the ``customer`` of their ``enter``
event), as the storage service (``caruso.storage/1``) holds it now.

Rows show a value the model labels (``choices="HR=Herr|FR=Frau"``) by its label, any
other value as it is; interactions without a customer, or whose customer the storage
does not hold, fall under ``NONE``. Customers are read ``BATCH`` keys at a time.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from caruso_core.errors import ConfigError

PREFIX = "customer."
NAME = re.compile(r"^customer\.[A-Za-z_][A-Za-z0-9_]{0,63}$")
OBJECT = "Customer"
NONE = "(none)"
BATCH = 500
Shown = Callable[[str, list[Any]], dict[Any, str]]


def attribute(dimension: str) -> str | None:
    """The attribute a ``customer.NAME`` dimension names; None for any other dimension."""
    return dimension[len(PREFIX):] if NAME.match(dimension) else None


def from_storage(storage: Any) -> Shown:
    """``shown(name, keys)``: the value of attribute ``name`` of each customer in ``keys``
    as a report shows it, read from ``storage``; ConfigError when the model has no such
    attribute."""
    def shown(name: str, keys: list[Any]) -> dict[Any, str]:
        described = storage.describe(OBJECT)
        meta = (described.get("attributes") or {}).get(name)
        if meta is None:
            raise ConfigError(f"dimension customer.{name}: {OBJECT} has no attribute {name!r} "
                              f"(attributes: {', '.join(described.get('attributes') or {})})")
        labels = meta.get("choice_labels") or {}
        if len(described.get("key") or ()) != 1:
            raise ConfigError(f"dimension customer.{name}: {OBJECT} has a key of several attributes")
        key = described["key"][0]
        found: dict[Any, str] = {}
        for batch in _batches(sorted({str(k) for k in keys}), BATCH):
            rows = storage.query(OBJECT, {"field": key, "op": "in", "value": batch}, limit=BATCH)
            for row in rows:
                value = row.get(name)
                found[str(row[key])] = NONE if value is None else str(labels.get(str(value), value))
        return found
    return shown


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
