"""Storing a value once, for the clients of ``caruso.storage/1`` (a proxy or anything that
answers ``query``, ``create``, ``update`` and ``describe`` as the service does).

:func:`stored_once` creates an object unless one that holds the same value of one attribute
exists, and then raises a counter on that one instead (a question asked again counts on its
article). The count is written with the version it was read at, and read again (after a
short random pause) when someone changed the object meanwhile, so no count is lost. The look and the create are two calls:
two callers storing a new value at the same moment may create two objects; counts then go
to the first by key.
"""
from __future__ import annotations

import random
import time
from typing import Any

from caruso_core.errors import Conflict, InvalidInput

ATTEMPTS = 20
BACKOFF = 0.005          # seconds: the n-th retry waits up to n times this, at random


def stored_once(storage: Any, object: str, values: dict[str, Any], match: str,
                count: str | None = None) -> dict[str, Any]:
    """The ``object`` holding ``values[match]`` in ``match``: the first by key, with its
    integer attribute ``count`` (if named) raised by one and nothing else changed; else one
    created with ``values``. Conflict if the object changes under the count ``ATTEMPTS`` times."""
    if match not in values:
        raise InvalidInput(f"match {match!r} is not one of the attributes given ({', '.join(sorted(values))})")
    names = storage.describe(object)["key"]
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, BACKOFF * attempt))     # let the one who changed it finish
        found = storage.query(object, {"field": match, "op": "eq", "value": values[match]}, names, 1)
        if not found:
            return storage.create(object, values)
        record = found[0]
        if count is None:
            return record
        key = record[names[0]] if len(names) == 1 else {name: record[name] for name in names}
        try:
            return storage.update(object, key, {count: (record.get(count) or 0) + 1}, record.get("_version"))
        except Conflict:
            continue
    raise Conflict(f"the {object} holding this {match} kept changing while its {count} was counted; try again")
