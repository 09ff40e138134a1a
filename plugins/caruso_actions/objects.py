"""Action ``store``: create or update a business object through the storage service.

Parameters: ``object`` (name in the model), optional ``key`` (present: update that
object; absent: create one), every other parameter is an attribute value. Returns
the stored record.

Without ``key``, ``match`` names one of the given attributes: when an object with that
attribute's value exists already, none is created; the first found is returned, and the
integer attribute ``count`` names (if given) is raised by one on it, nothing else
changed (:func:`caruso_storage.counting.stored_once`). So a question asked again counts
on its article instead of making another. ``match`` and ``count`` are the action's own
names (not attributes); ``count`` needs ``match``, and ``match`` goes without ``key``.
"""
from __future__ import annotations

from typing import Any

from caruso_core.errors import InvalidInput
from caruso_scripts.actions import ActionContext
from caruso_storage.counting import stored_once

STORAGE = "caruso.storage/1"


def store_object(context: ActionContext, object: str, key: Any = None, match: str | None = None,
                 count: str | None = None, **attributes: Any) -> dict[str, Any]:
    if key is not None and match is not None:
        raise InvalidInput("store takes key (update that object) or match (store a value once), not both")
    if count is not None and match is None:
        raise InvalidInput("store counts (count) only what it matches: give match too")
    storage = context.service(STORAGE)
    if key is not None:
        return storage.update(object, key, attributes)
    if match is not None:
        return stored_once(storage, object, attributes, match, count)
    return storage.create(object, attributes)
