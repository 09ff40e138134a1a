"""Contract tests of the interface ``caruso.storage/1`` (docs/storage.md).

An implementation proves conformance by subclassing :class:`StorageContract` in a
test module and providing the fixture ``service``: an object with the interface's
methods (usually a client proxy) serving the objects of :data:`MODEL`, or objects
of the same names, attributes and relations (a wrapper may map its own tables so).
Tests look only at the objects they create (names start with a fresh marker), so
one service may serve all of them.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

import uuid

import pytest

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_core.testing import ContractSuite

MODEL = str(resources.files("caruso_storage").joinpath("contract_model.xml"))
METHODS = ("create", "get", "update", "delete", "query", "count", "search", "related", "link", "unlink", "apply", "read",
           "describe", "add_contact", "contact_history", "rule_log", "run_due_rules", "outbox", "retry_outbox")
PLAIN = (str, int, float, bool, type(None))


def plain(value: Any, where: str) -> None:
    """Fail unless ``value`` is plain data of exactly the built-in types (no subclasses: a
    serializer takes those only), naming where it is not."""
    if type(value) is dict:
        for name, item in value.items():
            assert type(name) is str, f"{where}: key {name!r} is a {type(name).__name__}"
            plain(item, f"{where}[{name!r}]")
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            plain(item, f"{where}[{index}]")
    else:
        assert type(value) in PLAIN, f"{where}: {value!r} is a {type(value).__name__}"


def _party(service: Any, marker: str, name: str = "Acme", **values: Any) -> dict[str, Any]:
    return service.create("Party", {"name": f"{marker} {name}", **values})


def _mine(marker: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {"and": [{"field": "name", "op": "startswith", "value": f"{marker} "}, *conditions]}


class StorageContract(ContractSuite):
    """What every ``caruso.storage/1`` implementation does; needs the fixture ``service``."""

    @pytest.fixture
    def marker(self) -> str:
        """A prefix of the names a test gives its objects."""
        return f"t{uuid.uuid4().hex[:10]}"

    interface = "caruso.storage/1"

    def test_create_then_get_returns_the_same_plain_record(self, service: Any, marker: str) -> None:
        created = _party(service, marker, city="Bonn", score=3, balance="10.50", joined="2026-02-01")
        assert created["_version"] is not None and isinstance(created["id"], int)
        got = service.get("Party", created["id"])
        assert got == created
        assert (got["balance"], got["joined"], got["active"]) == ("10.50", "2026-02-01", True)

    def test_update_checks_the_version(self, service: Any, marker: str) -> None:
        party = _party(service, marker)
        changed = service.update("Party", party["id"], {"city": "Kiel"}, version=party["_version"])
        assert changed["city"] == "Kiel" and changed["_version"] != party["_version"]
        with pytest.raises(Conflict):
            service.update("Party", party["id"], {"city": "Ulm"}, version=party["_version"])
        assert service.get("Party", party["id"])["city"] == "Kiel"

    def test_delete_and_not_found(self, service: Any, marker: str) -> None:
        party = _party(service, marker)
        service.delete("Party", party["id"])
        with pytest.raises(NotFound):
            service.get("Party", party["id"])
        with pytest.raises(NotFound):
            service.delete("Party", party["id"])

    def test_query_filters_orders_pages_and_counts(self, service: Any, marker: str) -> None:
        for index, city in enumerate(["Bonn", "Kiel", "Bonn", None]):
            _party(service, marker, name=f"P{index}", city=city, score=index)
        bonn = {"field": "city", "op": "eq", "value": "Bonn"}

        def names(found: list[dict[str, Any]]) -> list[str]:
            return [p["name"].split(" ", 1)[1] for p in found]

        assert names(service.query("Party", _mine(marker, bonn))) == ["P0", "P2"]
        assert service.count("Party", _mine(marker, {"or": [bonn, {"field": "city", "op": "is_null",
                                                                   "value": True}]})) == 3
        assert names(service.query("Party", _mine(marker), order_by=["-score"], limit=2, offset=1)) == ["P2", "P1"]
        assert names(service.query("Party", _mine(marker, {"not": {"field": "score", "op": "lt", "value": 2}}))) \
            == ["P2", "P3"]

    def test_digits_finds_a_number_however_it_is_written(self, service: Any, marker: str) -> None:
        for index, city in enumerate(["+31 20 555 0101", "020-555 0102", "Bonn", None]):
            _party(service, marker, name=f"P{index}", city=city)

        def digits(value: str) -> list[str]:
            found = service.query("Party", _mine(marker, {"field": "city", "op": "digits", "value": value}))
            return [p["name"].split(" ", 1)[1] for p in found]

        assert digits("0205550101") == ["P0"] and digits("+31 (0)20 5550102") == ["P1"]
        assert digits("555 01") == ["P0", "P1"] and digits("+31 20 555 0199") == []
        with pytest.raises(InvalidInput):
            digits("555")                                   # fewer than four digits
        with pytest.raises(InvalidInput):
            service.query("Party", {"field": "score", "op": "digits", "value": "5550101"})    # not text

    def test_search_finds_objects_holding_every_word(self, service: Any, marker: str) -> None:
        green = _party(service, marker, name="Green Energy", city="Bonn")
        grey = _party(service, marker, name="Grey Energy Partners", city="Kiel")
        _party(service, marker, name="Green Gardens", city="Kiel")
        found = service.search("Party", "names", f"{marker} energy")
        assert sorted(p["id"] for p in found) == sorted([green["id"], grey["id"]])
        assert [p["id"] for p in service.search("Party", "names", f"{marker} energy kiel")] == [grey["id"]]
        assert [p["id"] for p in service.search("Party", "names", f"{marker} energy",
                                                where={"field": "city", "op": "eq", "value": "Bonn"})] == [green["id"]]
        assert len(service.search("Party", "names", f"{marker} energy", limit=1, offset=1)) == 1
        for text in ('"', "NEAR(", "*", f'{marker}" OR "x', f"{marker} OR x", "'; DROP TABLE contract_party; --"):
            assert service.search("Party", "names", text) == [], text
        with pytest.raises(InvalidInput):
            service.search("Party", "names", "energy " * 40)
        with pytest.raises(InvalidInput):
            service.search("Party", "nothing", marker)
        assert service.count("Party", _mine(marker)) == 3

    def test_filters_are_checked(self, service: Any, marker: str) -> None:
        with pytest.raises(InvalidInput):
            service.query("Party", {"field": "secret", "op": "eq", "value": 1})
        with pytest.raises(InvalidInput):
            service.query("Party", {"field": "score", "op": "eq", "value": "1; DELETE FROM contract_party"})
        with pytest.raises(InvalidInput):
            service.create("Party", {"name": "x", "unknown": 1})

    def test_apply_is_all_or_nothing(self, service: Any, marker: str) -> None:
        party = _party(service, marker)
        results = service.apply([{"op": "create", "object": "Party", "values": {"name": f"{marker} B"}},
                                 {"op": "update", "object": "Party", "key": party["id"], "values": {"score": 9}}])
        assert results[0]["name"] == f"{marker} B" and results[1]["score"] == 9
        with pytest.raises(InvalidInput):
            service.apply([{"op": "create", "object": "Party", "values": {"name": f"{marker} C"}},
                           {"op": "create", "object": "Party", "values": {}}])
        assert service.count("Party", _mine(marker)) == 2

    def test_relations_navigate_both_ways(self, service: Any, marker: str) -> None:
        party = _party(service, marker)
        deal = service.create("Deal", {"party_id": party["id"], "title": "Fleet"})
        assert service.related("Deal", deal["id"], "party")["id"] == party["id"]
        assert [d["title"] for d in service.related("Party", party["id"], "deals")] == ["Fleet"]

    def test_describe_names_objects_keys_and_attributes(self, service: Any, marker: str) -> None:
        described = service.describe("Party")
        assert described["key"] == ["id"]
        assert described["attributes"]["balance"]["type"] == "decimal"
        assert described["relations"]["deals"]["target"] == "Deal"
        assert {"Party", "Deal"} <= set(service.describe()["objects"])

    def test_contact_history_is_appended_newest_first(self, service: Any, marker: str) -> None:
        party = _party(service, marker)
        service.add_contact("Party", party["id"], {"channel": "phone", "at": "2026-01-01T10:00:00"})
        service.add_contact("Party", party["id"], {"channel": "email", "at": "2026-01-02T10:00:00"})
        assert [c["channel"] for c in service.contact_history("Party", party["id"])] == ["email", "phone"]

    def test_read_answers_several_reads_in_one_call(self, service: Any, marker: str) -> None:
        party = _party(service, marker, city="Bonn")
        deal = service.create("Deal", {"party_id": party["id"], "title": "Fleet"})
        service.add_contact("Party", party["id"], {"channel": "phone", "at": "2026-01-01T10:00:00"})
        requests = [{"op": "get", "object": "Party", "key": party["id"]},
                    {"op": "query", "object": "Party", "where": _mine(marker), "limit": 5},
                    {"op": "count", "object": "Party", "where": _mine(marker)},
                    {"op": "related", "object": "Party", "key": party["id"], "relation": "deals"},
                    {"op": "contact_history", "object": "Party", "key": party["id"], "limit": 1}]
        got, listed, counted, deals, history = service.read(requests)
        assert got == party and listed == [party] and counted == 1 and deals == [deal]
        assert [c["channel"] for c in history] == ["phone"]
        assert json.loads(service.read(json.dumps(requests))) == [got, listed, counted, deals, history]

    def test_read_refuses_bad_requests_naming_the_index(self, service: Any, marker: str) -> None:
        party = _party(service, marker)
        good = {"op": "get", "object": "Party", "key": party["id"]}
        for bad in ({"op": "delete", "object": "Party", "key": party["id"]},
                    {"op": "get", "object": "Party", "key": party["id"], "sql": "DROP TABLE party"},
                    {"op": "query", "object": "Party", "where": {"field": "nope", "op": "eq", "value": 1}}):
            with pytest.raises(InvalidInput, match="operation 1"):
                service.read([good, bad])
        with pytest.raises(NotFound, match="operation 1"):
            service.read([good, {"op": "get", "object": "Party", "key": party["id"] + 10_000}])
        assert service.get("Party", party["id"]) == party

    def test_every_method_answers_plain_data(self, service: Any, marker: str) -> None:
        called: list[str] = []

        def call(method: str, *args: Any, **kwargs: Any) -> Any:
            called.append(method)
            result = getattr(service, method)(*args, **kwargs)
            plain(result, method)
            return result

        party = call("create", "Party", {"name": f"{marker} A", "balance": "1.50", "joined": "2026-03-01"})
        other = _party(service, marker, name="B")
        call("get", "Party", party["id"])
        party = call("update", "Party", party["id"], {"city": "Bonn"}, version=party["_version"])
        deal = service.create("Deal", {"party_id": party["id"], "title": f"{marker} fleet"})
        call("query", "Party", _mine(marker), order_by=["-name"])
        call("count", "Party", _mine(marker))
        assert [p["id"] for p in call("search", "Party", "names", f"{marker} bonn")] == [party["id"]]
        call("related", "Party", party["id"], "deals")
        call("link", "Deal", deal["id"], "partners", other["id"])
        assert [p["id"] for p in call("related", "Deal", deal["id"], "partners")] == [other["id"]]
        call("unlink", "Deal", deal["id"], "partners", other["id"])
        call("apply", [{"op": "update", "object": "Party", "key": other["id"], "values": {"score": 2}}])
        call("add_contact", "Party", party["id"], {"channel": "phone", "data": {"queue": "sales"}})
        call("contact_history", "Party", party["id"])
        call("read", [{"op": "get", "object": "Party", "key": party["id"]}])
        call("describe")
        call("describe", "Deal")
        logged = call("rule_log", limit=50)
        assert any(entry["rule"] == "deal_logged" and entry["message"] == f"notify contract-suite: deal {marker} fleet"
                   for entry in logged)
        call("run_due_rules")
        call("outbox", limit=50)
        with pytest.raises(NotFound):
            call("retry_outbox", 2 ** 31 - 1)       # no such row: nothing to retry
        call("delete", "Deal", deal["id"])
        assert sorted(set(called)) == sorted(METHODS)

