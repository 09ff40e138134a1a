"""Business objects held in memory, answering the storage calls scripts make.

For script tests (``caruso script test``) and the terminal runner without a
deployment. :class:`MemoryStorage` honours these calls of ``caruso.storage/1`` as
docs/storage.md describes them: ``get``, ``create``, ``update``, ``query`` (one ``eq``
condition, ordering by attributes), ``describe`` and ``add_contact`` /
``contact_history``. Records are plain data (decimals and dates as strings); keys
are single attributes.

Declared in TOML (a script test file or ``caruso script run --data FILE``)::

    [storage.Customer]
    key = "id"                                     # default "id"
    types = { balance = "decimal", since = "date" } # attributes that are not text/int/bool
    records = [ { id = 1, name = "Ann Smith", balance = "120.50", since = "2019-04-01" } ]
"""
from __future__ import annotations

import datetime
import itertools
from typing import Any, Mapping

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_scripts import values


class MemoryStorage:
    """Objects by name, each a key attribute, attribute types and records by key."""

    def __init__(self, objects: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.contacts: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        for name, spec in (objects or {}).items():
            key = str(spec.get("key", "id"))
            records = {}
            for record in spec.get("records", []):
                if key not in record:
                    raise InvalidInput(f"a {name} record has no key attribute '{key}': {record}")
                records[record[key]] = values.plain(dict(record))
            self.objects[name] = {"key": key, "types": dict(spec.get("types", {})), "records": records}

    def _object(self, name: str) -> dict[str, Any]:
        if name not in self.objects:
            raise NotFound(f"no object '{name}' (known: {', '.join(sorted(self.objects)) or 'none'})")
        return self.objects[name]

    def get(self, name: str, key: Any) -> dict[str, Any]:
        records = self._object(name)["records"]
        if key not in records:
            raise NotFound(f"no {name} with key {key!r}")
        return dict(records[key])

    def create(self, name: str, record: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.objects.setdefault(name, {"key": "id", "types": {}, "records": {}})
        stored = values.plain(dict(record))
        key = stored.setdefault(spec["key"], max([0, *[k for k in spec["records"] if isinstance(k, int)]]) + 1)
        if key in spec["records"]:
            raise Conflict(f"{name} {key!r} exists already")
        spec["records"][key] = stored
        return dict(stored)

    def update(self, name: str, key: Any, changes: Mapping[str, Any], version: Any = None) -> dict[str, Any]:
        record = self.get(name, key)
        record.update(values.plain(dict(changes)))
        self._object(name)["records"][key] = record
        return dict(record)

    def query(self, name: str, where: Mapping[str, Any] | None = None, order_by: list[str] | None = None,
              limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Records of ``name``; ``where`` may be one ``eq`` condition; ``order_by`` names attributes ("-" descending)."""
        records = list(self._object(name)["records"].values())
        if where is not None:
            if set(where) != {"field", "op", "value"} or where["op"] != "eq":
                raise InvalidInput(f"memory storage filters only on one 'eq' condition, not {where}")
            records = [r for r in records if r.get(where["field"]) == where["value"]]
        for order in reversed(order_by or []):
            field = order.lstrip("-")
            records.sort(key=lambda r: (r.get(field) is None, r.get(field)), reverse=order.startswith("-"))
        return [dict(r) for r in records[offset:offset + limit]]

    def describe(self, name: str | None = None) -> dict[str, Any]:
        def entry(spec: dict[str, Any]) -> dict[str, Any]:
            attributes = {a: {"type": "string"} for r in spec["records"].values() for a in r}
            attributes.update({a: {"type": t} for a, t in spec["types"].items()})
            return {"key": [spec["key"]], "attributes": attributes}
        if name is not None:
            return entry(self._object(name))
        return {"name": "memory", "objects": {n: entry(s) for n, s in self.objects.items()}}

    def add_contact(self, name: str, key: Any, contact: Mapping[str, Any]) -> dict[str, Any]:
        self.get(name, key)
        if not contact.get("channel"):
            raise InvalidInput("a contact needs a channel")
        entry = {"direction": "inbound", "summary": None, "agent": None, "reference": None, "data": None,
                 **values.plain(dict(contact)), "id": next(self._ids), "object": name, "key": key,
                 "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        self.contacts.append(entry)
        return dict(entry)

    def contact_history(self, name: str, key: Any, channels: list[str] | None = None,
                        limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        found = [c for c in reversed(self.contacts) if c["object"] == name and c["key"] == key
                 and (channels is None or c["channel"] in channels)]
        return found[offset:offset + limit]
