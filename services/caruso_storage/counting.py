"""Storing a value once, for the clients of ``caruso.storage/1`` (a proxy or anything that
answers ``query``, ``create``, ``update`` and ``describe`` as the service does).

:func:`stored_once` creates an object unless one that holds the same value of one attribute
exists, and then raises a counter on that one instead (a question asked again counts on its
article). The look and the write are two calls: two callers storing the same value at the
same moment may still create two objects, or count once.
"""
from __future__ import annotations

from typing import Any

from caruso_core.errors import InvalidInput


def stored_once(storage: Any, object: str, values: dict[str, Any], match: str,
                count: str | None = None) -> dict[str, Any]:
    """The ``object`` holding ``values[match]`` in ``match``: the first found, with its
    integer attribute ``count`` (if named) raised by one and nothing else changed; else one
    created with ``values``."""
    if match not in values:
        raise InvalidInput(f"match {match!r} is not one of the attributes given ({', '.join(sorted(values))})")
    found = storage.query(object, {"field": match, "op": "eq", "value": values[match]}, limit=1)
    if not found:
        return storage.create(object, values)
    record = found[0]
    if count is None:
        return record
    names = storage.describe(object)["key"]
    key = record[names[0]] if len(names) == 1 else {name: record[name] for name in names}
    return storage.update(object, key, {count: (record.get(count) or 0) + 1})
