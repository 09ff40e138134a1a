"""Navigating relations: many-to-one, one-to-many, many-to-many."""
from __future__ import annotations

import pytest

from caruso_core.errors import InvalidInput, NotFound


@pytest.fixture
def crm(storage):
    acme = storage.create("Customer", {"name": "Acme"})
    other = storage.create("Customer", {"name": "Other"})
    for title, size in (("Fleet", "100"), ("Parts", "50"), ("Cars", "75")):
        storage.create("Opportunity", {"customer_id": acme["id"], "title": title, "deal_size": size})
    storage.create("Opportunity", {"customer_id": other["id"], "title": "Elsewhere"})
    return storage, acme, other


def test_one_to_many_with_filter_order_and_paging(crm):
    storage, acme, _ = crm
    deals = storage.related("Customer", acme["id"], "opportunities", order_by=["-deal_size"])
    assert [d["title"] for d in deals] == ["Fleet", "Cars", "Parts"]
    big = storage.related("Customer", acme["id"], "opportunities",
                          where={"field": "deal_size", "op": "ge", "value": 75}, limit=1, offset=1)
    assert [d["title"] for d in big] == ["Cars"]


def test_many_to_one_and_a_missing_reference(crm):
    storage, acme, _ = crm
    deal = storage.query("Opportunity", limit=1)[0]
    assert storage.related("Opportunity", deal["id"], "customer")["name"] == "Acme"
    contact = storage.create("Contact", {"customer_id": 999, "name": "Orphan"})
    assert storage.related("Contact", contact["id"], "customer") is None


def test_many_to_many_link_and_unlink_from_both_sides(crm):
    storage, acme, other = crm
    vip, north = storage.create("Tag", {"name": "vip"}), storage.create("Tag", {"name": "north"})
    storage.link("Customer", acme["id"], "tags", vip["id"])
    storage.link("Customer", acme["id"], "tags", north["id"])
    storage.link("Customer", acme["id"], "tags", north["id"])
    storage.link("Tag", vip["id"], "customers", other["id"])
    assert [t["name"] for t in storage.related("Customer", acme["id"], "tags", order_by=["name"])] == ["north", "vip"]
    assert [c["name"] for c in storage.related("Tag", vip["id"], "customers")] == ["Acme", "Other"]
    storage.unlink("Customer", acme["id"], "tags", vip["id"])
    assert [c["name"] for c in storage.related("Tag", vip["id"], "customers")] == ["Other"]


def test_relation_errors(crm):
    storage, acme, _ = crm
    with pytest.raises(InvalidInput, match="no relation 'friends'"):
        storage.related("Customer", acme["id"], "friends")
    with pytest.raises(NotFound):
        storage.related("Customer", 12345, "opportunities")
    with pytest.raises(InvalidInput, match="need many-to-many"):
        storage.link("Customer", acme["id"], "opportunities", 1)
    with pytest.raises(NotFound):
        storage.link("Customer", acme["id"], "tags", 999)
