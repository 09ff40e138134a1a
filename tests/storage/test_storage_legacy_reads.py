"""Reads that bring what a screen needs in one call: query (and the read batch) with the
related objects of named relations, on the utility's legacy tables on SQLite, PostgreSQL and
MariaDB; over Pyro5 they equal what related() gives per record, in process they cost one SQL
query per relation."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import utility_tables
from caruso_core.errors import InvalidInput
from conftest import raw_engine

MODEL = Path(__file__).parent / "models" / "utility.xml"


@pytest.fixture
def billing_url(database_url: str) -> str:
    engine = raw_engine(database_url)
    utility_tables.create(engine)
    engine.dispose()
    return database_url


def without(record: dict, *names: str) -> dict:
    return {name: value for name, value in record.items() if name not in names}


def test_included_relations_equal_related_per_record_over_pyro5(billing_url, caruso_host, caruso_client):
    caruso_host("storage", config={"model": str(MODEL), "db": billing_url})
    storage = caruso_client.get("caruso.storage/1")
    where = {"field": "read_at", "op": "ge", "value": "2022-01-01"}
    readings = storage.query("Reading", where, order_by=["-read_at"], limit=40, offset=10,
                             include=["contract_of", "contract_of.holder"])
    assert [without(r, "contract_of") for r in readings] == storage.query("Reading", where, order_by=["-read_at"],
                                                                          limit=40, offset=10)
    assert len(readings) == 40
    for reading in readings:
        key = {"contract": reading["contract"], "position": reading["position"]}
        contract = storage.related("Reading", key, "contract_of")
        assert without(reading["contract_of"], "holder") == contract
        assert reading["contract_of"]["holder"] == storage.related("Contract", contract["number"], "holder")
    customers = storage.query("Customer", limit=5, offset=5, include=["contracts.readings"])
    assert sum(len(c["contracts"]) for c in customers) > 0
    for customer in customers:
        contracts = storage.related("Customer", customer["number"], "contracts")
        assert [without(c, "readings") for c in customer["contracts"]] == contracts
        for contract, included in zip(contracts, customer["contracts"]):
            assert included["readings"] == storage.related("Contract", contract["number"], "readings")
    [batched] = storage.read([{"op": "query", "object": "Customer", "limit": 5, "offset": 5,
                               "include": ["contracts.readings"]}])
    assert batched == customers


def test_each_included_relation_costs_one_query_for_the_whole_page(billing_url, make_storage):
    storage = make_storage(MODEL)
    statements = []
    sa.event.listen(storage.engines["billing"], "before_cursor_execute",
                    lambda connection, cursor, statement, *rest: statements.append(statement))
    readings = storage.query("Reading", limit=150, include=["contract_of.holder"])
    assert len(readings) == 150 and len(statements) == 3
    assert sum(reading["contract_of"] is not None for reading in readings) == 150
    statements.clear()
    customers = storage.query("Customer", limit=40, include=["contracts.readings", "contracts.holder"])
    assert len(statements) == 4
    assert sum(len(contract["readings"]) for customer in customers for contract in customer["contracts"]) \
        == utility_tables.CONTRACTS * utility_tables.READINGS_PER_CONTRACT
    assert all(contract["holder"]["number"] == customer["number"]
               for customer in customers for contract in customer["contracts"])


@pytest.mark.parametrize("include, message", [
    (["holder"], r"include: holder: Reading has no many-to-one or one-to-many relation 'holder' "
                 r"\(relations: contract_of\)"),
    (["contract_of.holder.contracts.readings"], r"is no path of 1 to 3 relation names"),
    ("contract_of", r"include: a list of at most 10 relation paths"),
    ([1], r"include: 1 is no path"),
])
def test_include_is_checked(billing_url, make_storage, include, message):
    storage = make_storage(MODEL)
    with pytest.raises(InvalidInput, match=message):
        storage.query("Reading", include=include)
