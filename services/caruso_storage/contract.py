"""Contract tests of the interface ``caruso.storage/1`` (docs/storage.md).

An implementation proves conformance by subclassing :class:`StorageContract` in a
test module and providing the fixture ``service``: an object with the interface's
methods (usually a client proxy) serving the objects of :data:`MODEL`, or objects
of the same names, attributes and relations (a wrapper may map its own tables so).
Each test expects those objects to start empty.
"""
from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_core.testing import ContractSuite

MODEL = str(resources.files("caruso_storage").joinpath("contract_model.xml"))


def _party(service: Any, **values: Any) -> dict[str, Any]:
    return service.create("Party", {"name": "Acme", **values})


class StorageContract(ContractSuite):
    """What every ``caruso.storage/1`` implementation does; needs the fixture ``service``."""

    interface = "caruso.storage/1"

    def test_create_then_get_returns_the_same_plain_record(self, service: Any) -> None:
        created = _party(service, city="Bonn", score=3, balance="10.50", joined="2026-02-01")
        assert created["_version"] is not None and isinstance(created["id"], int)
        got = service.get("Party", created["id"])
        assert got == created
        assert (got["balance"], got["joined"], got["active"]) == ("10.50", "2026-02-01", True)

    def test_update_checks_the_version(self, service: Any) -> None:
        party = _party(service)
        changed = service.update("Party", party["id"], {"city": "Kiel"}, version=party["_version"])
        assert changed["city"] == "Kiel" and changed["_version"] != party["_version"]
        with pytest.raises(Conflict):
            service.update("Party", party["id"], {"city": "Ulm"}, version=party["_version"])
        assert service.get("Party", party["id"])["city"] == "Kiel"

    def test_delete_and_not_found(self, service: Any) -> None:
        party = _party(service)
        service.delete("Party", party["id"])
        with pytest.raises(NotFound):
            service.get("Party", party["id"])
        with pytest.raises(NotFound):
            service.delete("Party", party["id"])

    def test_query_filters_orders_pages_and_counts(self, service: Any) -> None:
        for index, city in enumerate(["Bonn", "Kiel", "Bonn", None]):
            _party(service, name=f"P{index}", city=city, score=index)
        bonn = {"field": "city", "op": "eq", "value": "Bonn"}
        assert [p["name"] for p in service.query("Party", bonn)] == ["P0", "P2"]
        assert service.count("Party", {"or": [bonn, {"field": "city", "op": "is_null", "value": True}]}) == 3
        assert [p["name"] for p in service.query("Party", order_by=["-score"], limit=2, offset=1)] == ["P2", "P1"]
        assert [p["name"] for p in service.query("Party", {"not": {"field": "score", "op": "lt", "value": 2}})] == \
            ["P2", "P3"]

    def test_filters_are_checked(self, service: Any) -> None:
        with pytest.raises(InvalidInput):
            service.query("Party", {"field": "secret", "op": "eq", "value": 1})
        with pytest.raises(InvalidInput):
            service.query("Party", {"field": "score", "op": "eq", "value": "1; DELETE FROM contract_party"})
        with pytest.raises(InvalidInput):
            service.create("Party", {"name": "x", "unknown": 1})

    def test_apply_is_all_or_nothing(self, service: Any) -> None:
        party = _party(service)
        results = service.apply([{"op": "create", "object": "Party", "values": {"name": "B"}},
                                 {"op": "update", "object": "Party", "key": party["id"], "values": {"score": 9}}])
        assert results[0]["name"] == "B" and results[1]["score"] == 9
        with pytest.raises(InvalidInput):
            service.apply([{"op": "create", "object": "Party", "values": {"name": "C"}},
                           {"op": "create", "object": "Party", "values": {}}])
        assert service.count("Party") == 2

    def test_relations_navigate_both_ways(self, service: Any) -> None:
        party = _party(service)
        deal = service.create("Deal", {"party_id": party["id"], "title": "Fleet"})
        assert service.related("Deal", deal["id"], "party")["id"] == party["id"]
        assert [d["title"] for d in service.related("Party", party["id"], "deals")] == ["Fleet"]

    def test_describe_names_objects_keys_and_attributes(self, service: Any) -> None:
        described = service.describe("Party")
        assert described["key"] == ["id"]
        assert described["attributes"]["balance"]["type"] == "decimal"
        assert described["relations"]["deals"]["target"] == "Deal"
        assert {"Party", "Deal"} <= set(service.describe()["objects"])

    def test_contact_history_is_appended_newest_first(self, service: Any) -> None:
        party = _party(service)
        service.add_contact("Party", party["id"], {"channel": "phone", "at": "2026-01-01T10:00:00"})
        service.add_contact("Party", party["id"], {"channel": "email", "at": "2026-01-02T10:00:00"})
        assert [c["channel"] for c in service.contact_history("Party", party["id"])] == ["email", "phone"]
