"""Reads that bring what a screen needs in one call: query (and the read batch) with the
related objects of named relations (many-to-one, one-to-many and many-to-many through a
legacy link table), on the utility's legacy tables on SQLite, PostgreSQL and MariaDB; over
Pyro5 they equal what related() gives per record, in process they cost one SQL query per
relation."""
from __future__ import annotations

from pathlib import Path

import random

import pytest
import sqlalchemy as sa

import utility_tables
from caruso_core.errors import ConfigError, InvalidInput
from caruso_storage import eager
from conftest import raw_engine

MODEL = Path(__file__).parent / "models" / "utility.xml"
TARIFFS = [str(MODEL), str(MODEL.parent / "utility_tariffs.xml")]


@pytest.fixture
def billing_url(database_url: str) -> str:
    engine = raw_engine(database_url)
    utility_tables.create(engine)
    engine.dispose()
    return database_url


@pytest.fixture
def tariffs_url(billing_url: str) -> tuple[str, set[tuple[str, str]]]:
    """The utility's tables with tariffs and a legacy link table of customers and tariffs,
    both keys padded; the links as (customer, tariff) without padding."""
    rng, engine = random.Random(11), raw_engine(billing_url)
    codes = ["G1", "G2", "HT", "NT", "OEKO", "W"]
    customers = [f"{number * 7}" for number in range(1, utility_tables.CUSTOMERS + 1)]
    links = {(customer, code) for customer in customers[:-5] for code in rng.sample(codes, rng.randrange(4))}
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE TARIF (TARIFNR CHAR(4) NOT NULL PRIMARY KEY, BEZ VARCHAR(30) NOT NULL)")
        connection.exec_driver_sql("CREATE TABLE KUNDE_TARIF (KDNR CHAR(8) NOT NULL, TARIFNR CHAR(4) NOT NULL, "
                                   "PRIMARY KEY (KDNR, TARIFNR))")
        connection.execute(sa.text("INSERT INTO TARIF (TARIFNR, BEZ) VALUES (:code, :title)"),
                           [{"code": f"{code:<4}", "title": f"Tarif {code}"} for code in codes])
        connection.execute(sa.text("INSERT INTO KUNDE_TARIF (KDNR, TARIFNR) VALUES (:customer, :code)"),
                           [{"customer": f"{customer:<8}", "code": f"{code:<4}"} for customer, code in links])
    engine.dispose()
    return billing_url, links


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
    (["holder"], r"include: holder: Reading has no relation 'holder' \(relations: contract_of\)"),
    (["contract_of.holder.contracts.readings"], r"is no path of 1 to 3 relation names"),
    ("contract_of", r"include: a list of at most 10 relation paths"),
    ([1], r"include: 1 is no path"),
])
def test_include_is_checked(billing_url, make_storage, include, message):
    storage = make_storage(MODEL)
    with pytest.raises(InvalidInput, match=message):
        storage.query("Reading", include=include)


def test_included_many_to_many_relations_equal_related_per_record_over_pyro5(tariffs_url, caruso_host,
                                                                            caruso_client):
    url, links = tariffs_url
    caruso_host("storage", config={"model": TARIFFS, "db": url})
    storage = caruso_client.get("caruso.storage/1")
    customers = storage.query("Customer", order_by=["name"], limit=30, offset=5, include=["tariffs", "contracts"])
    assert [without(c, "tariffs", "contracts") for c in customers] == storage.query("Customer", order_by=["name"],
                                                                                   limit=30, offset=5)
    for customer in customers:
        assert customer["tariffs"] == storage.related("Customer", customer["number"], "tariffs")
        assert {(customer["number"], t["code"]) for t in customer["tariffs"]} \
            == {link for link in links if link[0] == customer["number"]}
    assert sum(len(c["tariffs"]) for c in customers) > 0
    tariffs = storage.query("Tariff", include=["customers.contracts"])
    for tariff in tariffs:
        holders = storage.related("Tariff", tariff["code"], "customers")
        assert [without(c, "contracts") for c in tariff["customers"]] == holders
        for holder, included in zip(holders, tariff["customers"]):
            assert included["contracts"] == storage.related("Customer", holder["number"], "contracts")
    [batched] = storage.read([{"op": "query", "object": "Tariff", "include": ["customers.contracts"]}])
    assert batched == tariffs


def test_a_many_to_many_relation_costs_one_query_for_the_whole_page_within_its_bound(tariffs_url, make_storage,
                                                                                    monkeypatch):
    url, links = tariffs_url
    storage = make_storage(TARIFFS)
    statements = []
    sa.event.listen(storage.engines["billing"], "before_cursor_execute",
                    lambda connection, cursor, statement, *rest: statements.append(statement))
    customers = storage.query("Customer", limit=40, include=["tariffs.customers"])
    assert len(statements) == 3
    assert {(c["number"], t["code"]) for c in customers for t in c["tariffs"]} == links
    assert all(customer["number"] in [holder["number"] for holder in tariff["customers"]]
               for customer in customers for tariff in customer["tariffs"])
    monkeypatch.setattr(eager, "MAX_LIMIT", len(links) - 1)
    with pytest.raises(InvalidInput, match=rf"include: tariffs brings more than {len(links) - 1} Tariff objects "
                                           r"for this page: ask for a smaller page"):
        storage.query("Customer", limit=40, include=["tariffs"])
    assert len(storage.query("Customer", limit=40, offset=10, include=["tariffs"])) == 30


def test_a_missing_legacy_link_table_or_column_is_named_at_start(billing_url, make_storage):
    engine = raw_engine(billing_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE TARIF (TARIFNR CHAR(4) NOT NULL PRIMARY KEY, BEZ VARCHAR(30) NOT NULL)")
    with pytest.raises(ConfigError, match=r"utility_tariffs.xml:14: Customer.tariffs: link table 'KUNDE_TARIF' "
                                          r"does not exist; .*utility_tariffs.xml:10: Tariff.customers: link table"):
        make_storage(TARIFFS)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE KUNDE_TARIF (KDNR CHAR(8) NOT NULL, TARIF CHAR(4) NOT NULL)")
    with pytest.raises(ConfigError, match=r"Tariff.customers: link table '(KUNDE_TARIF|kunde_tarif)' has no column "
                                          r"'TARIFNR' \(columns: (KDNR, TARIF|kdnr, tarif)\)"):
        make_storage(TARIFFS)
    engine.dispose()
