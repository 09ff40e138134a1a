"""Waiting for the records the communication server writes behind to the storage service."""
from __future__ import annotations

from typing import Any

from caruso_core.errors import NotFound
from caruso_core.testing import eventually

MODEL = '<model name="crm"><include module="comm"/></model>'     # a storage model with the comm objects


def stored(storage: Any, object: str, key: str, **expected: Any) -> dict[str, Any]:
    """The stored record of ``object`` with ``key`` once it has the ``expected`` values."""
    def check():
        try:
            record = storage.get(object, key)
        except NotFound:
            return None
        return record if all(record[k] == v for k, v in expected.items()) else None
    return eventually(check)
