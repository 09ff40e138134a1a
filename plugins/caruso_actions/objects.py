"""Action ``store``: create or update a business object through the storage service.

Parameters: ``object`` (name in the model), optional ``key`` (present: update that
object; absent: create one), every other parameter is an attribute value. Returns
the stored record.
"""
from __future__ import annotations

from typing import Any

from caruso_scripts.actions import ActionContext

STORAGE = "caruso.storage/1"


def store_object(context: ActionContext, object: str, key: Any = None, **attributes: Any) -> dict[str, Any]:
    storage = context.service(STORAGE)
    if key is None:
        return storage.create(object, attributes)
    return storage.update(object, key, attributes)
