"""Action ``store``: create or update a business object through the storage service.

Parameters: ``object`` (name in the model), optional ``key`` (present: update that
object; absent: create one), every other parameter is an attribute value. Returns
the stored record.

Without ``key``, ``match`` names one of the given attributes: when an object with that
attribute's value exists already, none is created; the first found is returned, and the
integer attribute ``count`` names (if given) is raised by one on it, nothing else
changed. So a question asked again counts on its article instead of making another. Two
dialogs storing the same value at the same moment may still create two, or count once.
"""
from __future__ import annotations

from typing import Any

from caruso_core.errors import InvalidInput
from caruso_scripts.actions import ActionContext

STORAGE = "caruso.storage/1"


def store_object(context: ActionContext, object: str, key: Any = None, match: str | None = None,
                 count: str | None = None, **attributes: Any) -> dict[str, Any]:
    storage = context.service(STORAGE)
    if key is not None:
        return storage.update(object, key, attributes)
    if match is None:
        return storage.create(object, attributes)
    if match not in attributes:
        raise InvalidInput(f"match {match!r} is not one of the attributes given ({', '.join(sorted(attributes))})")
    found = storage.query(object, {"field": match, "op": "eq", "value": attributes[match]}, limit=1)
    if not found:
        return storage.create(object, attributes)
    if count is None:
        return found[0]
    record, names = found[0], storage.describe(object)["key"]
    record_key = record[names[0]] if len(names) == 1 else {name: record[name] for name in names}
    return storage.update(object, record_key, {count: (record.get(count) or 0) + 1})
