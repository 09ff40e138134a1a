"""Create, get, update, delete of business objects; values, keys and versions."""
from __future__ import annotations

import warnings

import pytest
from sqlalchemy.exc import SAWarning

from caruso_core.errors import Conflict, InvalidInput, NotFound


def test_create_fills_generated_key_defaults_and_version(storage):
    created = storage.create("Customer", {"name": "Acme", "city": "Berlin"})
    assert isinstance(created["id"], int)
    assert created["segment"] == "business" and created["active"] is True
    assert storage.get("Customer", created["id"]) == created


def test_values_travel_as_plain_data(storage):
    customer = storage.create("Customer", {"name": "Acme", "created": "2026-03-01T09:30:00"})
    deal = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Fleet",
                                          "deal_size": 1234.5, "close_date": "2026-06-30"})
    got = storage.get("Opportunity", deal["id"])
    assert got["deal_size"] == "1234.50" and got["close_date"] == "2026-06-30"
    assert storage.get("Customer", customer["id"])["created"] == "2026-03-01T09:30:00"


def test_decimals_read_back_as_written_without_warnings(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        deal = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Fleet",
                                              "deal_size": "123456789012.34"})
        assert storage.get("Opportunity", deal["id"])["deal_size"] == "123456789012.34"
        assert storage.count("Opportunity", {"field": "deal_size", "op": "gt", "value": "123456789012.33"}) == 1


def test_update_bumps_the_version_and_refuses_a_stale_one(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    changed = storage.update("Customer", customer["id"], {"city": "Bonn"}, version=customer["_version"])
    assert changed["city"] == "Bonn" and changed["_version"] != customer["_version"]
    with pytest.raises(Conflict, match="changed by someone else"):
        storage.update("Customer", customer["id"], {"city": "Ulm"}, version=customer["_version"])
    assert storage.get("Customer", customer["id"])["city"] == "Bonn"


def test_a_duplicate_key_or_unique_value_names_the_attributes_it_clashes_on(storage):
    storage.create("Tag", {"name": "vip"})
    with pytest.raises(Conflict, match="^name: another Tag has this name already$") as clash:
        storage.create("Tag", {"name": "vip"})
    assert clash.value.details == {"field": "name", "fields": ["name"]}
    north = storage.create("Tag", {"name": "north"})
    with pytest.raises(Conflict) as clash:
        storage.update("Tag", north["id"], {"name": "vip"}, version=north["_version"])
    assert clash.value.details == {"field": "name", "fields": ["name"]}
    customer = storage.create("Customer", {"name": "Acme"})
    with pytest.raises(Conflict, match="^id: another Customer has this id already$") as clash:
        storage.create("Customer", {"id": customer["id"], "name": "Copy"})
    assert clash.value.details == {"field": "id", "fields": ["id"]}
    storage.create("Consent", {"customer_id": customer["id"], "channel": "phone", "opted_in": False})
    with pytest.raises(Conflict, match="^Consent: another Consent has these values of customer_id, channel") as clash:
        storage.create("Consent", {"customer_id": customer["id"], "channel": "phone", "opted_in": True})
    assert clash.value.details == {"fields": ["customer_id", "channel"]}


def test_delete_with_version_and_missing_objects(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    with pytest.raises(Conflict):
        storage.delete("Customer", customer["id"], version=customer["_version"] + 1)
    storage.delete("Customer", customer["id"], version=customer["_version"])
    with pytest.raises(NotFound, match="Customer id=.* does not exist"):
        storage.get("Customer", customer["id"])
    with pytest.raises(NotFound):
        storage.update("Customer", customer["id"], {"city": "x"})
    with pytest.raises(NotFound, match="no object 'Nobody'"):
        storage.get("Nobody", 1)


@pytest.mark.parametrize("values, message", [
    ({"name": "A", "shoe_size": 42}, "no attribute"),
    ({"city": "Bonn"}, "name required"),
    ({"name": "A", "segment": "galactic"}, "not one of"),
    ({"name": "x" * 121}, "longer than 120"),
    ({"name": "A", "active": "maybe"}, "not a valid boolean"),
    ({"name": 7}, "not a valid string"),
])
def test_invalid_values_are_refused_and_nothing_is_written(storage, values, message):
    with pytest.raises(InvalidInput, match=message):
        storage.create("Customer", values)
    assert storage.count("Customer") == 0


def test_key_attributes_cannot_change(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    with pytest.raises(InvalidInput, match="cannot change"):
        storage.update("Customer", customer["id"], {"id": customer["id"] + 1})


def test_an_injection_string_is_stored_as_a_value(storage):
    evil = "x'); DROP TABLE customer; --"
    created = storage.create("Customer", {"name": evil})
    found = storage.query("Customer", {"field": "name", "op": "eq", "value": evil})
    assert [c["id"] for c in found] == [created["id"]]
    assert storage.query("Customer", {"field": "name", "op": "contains", "value": "'); DROP"})[0]["name"] == evil
    assert storage.count("Customer") == 1
