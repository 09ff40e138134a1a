"""An in-memory stand-in for ``caruso.storage/1`` (the calls of docs/storage.md the
front office uses), hosted over Pyro5 for the front office's tests."""
from __future__ import annotations

import copy
from typing import Any

from caruso_core import service
from caruso_core.errors import Conflict, InvalidInput, NotFound

MODEL = {
    "Customer": {"key": ["id"], "attributes": {
        "id": {"type": "integer", "label": "Id"},
        "name": {"type": "string", "length": 80, "required": True, "label": "Name"},
        "email": {"type": "string", "length": 120, "label": "E-mail"},
        "phone": {"type": "string", "length": 30, "label": "Phone"},
        "segment": {"type": "string", "choices": ["private", "business"], "label": "Segment"},
        "credit_limit": {"type": "decimal", "label": "Credit limit"},
        "since": {"type": "date", "label": "Customer since"},
        "vip": {"type": "boolean", "label": "VIP"},
        "notes": {"type": "text", "label": "Notes"}}},
    "Ticket": {"key": ["id"], "attributes": {
        "id": {"type": "integer", "label": "Id"},
        "customer": {"type": "integer", "label": "Customer"},
        "subject": {"type": "string", "length": 200, "label": "Subject"},
        "state": {"type": "string", "choices": ["open", "waiting", "closed"], "label": "State"}}},
}


def _matches(record: dict[str, Any], where: dict[str, Any] | None) -> bool:
    if where is None:
        return True
    if "and" in where:
        return all(_matches(record, part) for part in where["and"])
    if "or" in where:
        return any(_matches(record, part) for part in where["or"])
    value, op, wanted = record.get(where["field"]), where["op"], where["value"]
    if op == "eq":
        return value == wanted
    if op == "in":
        return value in wanted
    if op == "contains":
        return str(wanted).lower() in str(value or "").lower()
    raise InvalidInput(f"operator {op!r} is not supported here")


@service(name="storage", interface="caruso.storage/1", version="0.0.1")
class MemoryStorage:
    def __init__(self, seed: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self._rows: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in MODEL}
        self._history: dict[int, list[dict[str, Any]]] = {}
        for name, records in (seed or {}).items():
            for record in records:
                self.create(name, record)

    def describe(self, object: str | None = None) -> dict[str, Any]:
        if object is None:
            return {"name": "test", "objects": copy.deepcopy(MODEL)}
        if object not in MODEL:
            raise NotFound(f"no object {object!r}")
        return copy.deepcopy(MODEL[object])

    def _check(self, object: str, values: dict[str, Any]) -> None:
        unknown = set(values) - set(MODEL[object]["attributes"])
        if unknown:
            raise InvalidInput(f"{object} has no attribute {sorted(unknown)[0]!r}")

    def create(self, object: str, values: dict[str, Any]) -> dict[str, Any]:
        self._check(object, values)
        rows = self._rows[object]
        key = values.get("id") or len(rows) + 1
        rows[key] = {**{a: None for a in MODEL[object]["attributes"]}, **values, "id": key, "_version": 1}
        return dict(rows[key])

    def get(self, object: str, key: Any) -> dict[str, Any]:
        try:
            return dict(self._rows[object][key])
        except KeyError:
            raise NotFound(f"no {object} {key!r}") from None

    def update(self, object: str, key: Any, values: dict[str, Any], version: Any = None) -> dict[str, Any]:
        self._check(object, values)
        record = self._rows[object].get(key)
        if record is None:
            raise NotFound(f"no {object} {key!r}")
        if version is not None and str(version) != str(record["_version"]):
            raise Conflict(f"{object} {key} was changed by someone else")
        record.update(values, _version=record["_version"] + 1)
        return dict(record)

    def query(self, object: str, where: Any = None, order_by: Any = None, limit: int = 100,
              offset: int = 0) -> list[dict[str, Any]]:
        rows = [r for r in self._rows[object].values() if _matches(r, where)]
        for field in reversed(order_by or []):
            rows.sort(key=lambda r: str(r.get(field.lstrip("-")) or ""), reverse=field.startswith("-"))
        return [dict(r) for r in rows[offset:offset + limit]]

    def count(self, object: str, where: Any = None) -> int:
        return len([r for r in self._rows[object].values() if _matches(r, where)])

    def add_contact(self, object: str, key: Any, contact: dict[str, Any]) -> dict[str, Any]:
        entry = {"id": len(self._history.get(key, [])) + 1, "object": object, "key": key,
                 "direction": "inbound", "at": "2026-01-01T10:00:00", **contact}
        self._history.setdefault(key, []).insert(0, entry)
        return entry

    def contact_history(self, object: str, key: Any, channels: Any = None, limit: int = 100,
                        offset: int = 0) -> list[dict[str, Any]]:
        return self._history.get(key, [])[offset:offset + limit]
