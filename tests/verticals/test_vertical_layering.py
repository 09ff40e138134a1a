"""Verticals layer. The verticals built on the CRM base module make the tables, columns,
indexes and metadata they made when each declared its own Customer and Task (``before/``,
see layering_snapshot.py), so the database of an existing deployment fits the rebuilt model
without a migration. An integrator's vertical that depends on a vendor's extends its model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from caruso_core.testing.commands import caruso
from caruso_core.verticals import deployment_data, installed, read
from caruso_storage import loader, migrate
from caruso_storage.database import WRITE_OPTION
from caruso_storage.service import StorageManager
from layering_snapshot import snapshot

BEFORE = Path(__file__).parent / "before"
NAMES = ["utility", "bank", "service", "default"]


def model_files(name: str) -> list[str] | None:
    """The storage's ``model`` of the vertical's deployment (None: the packaged default model)."""
    return None if name == "default" else installed()[name].service_settings()["storage"]["config"]["model"]


def load(name: str):
    files = model_files(name)
    return loader.load_default() if files is None else loader.load(files)


def before(name: str) -> dict:
    return json.loads((BEFORE / f"{name}.json").read_text())


def comparable(taken: dict) -> dict:
    """A snapshot without the CREATE TABLE texts, whose column order may differ, and without
    SQLite's AUTOINCREMENT, which tables made since have (a deleted record's key is not given
    again) and which an existing table does without (test_an_existing_sqlite_database...)."""
    return {name: {"describe": entry["describe"],
                   "ddl": {dialect: {k: ({c: d.replace(" PRIMARY KEY AUTOINCREMENT", "") for c, d in v.items()}
                                         if k == "columns" else v) for k, v in ddl.items() if k != "create"}
                           for dialect, ddl in entry["ddl"].items()}}
            for name, entry in taken.items()}


@pytest.mark.parametrize("name", NAMES)
def test_describe_and_ddl_are_as_before(name):
    recorded = before(name)
    assert comparable(snapshot(load(name), list(recorded))) == comparable(recorded)


def existing_deployment(url: str, name: str, dialect: str) -> None:
    """A database as the model of ``name`` before the rebuild made it, with one customer in it."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for entry in before(name).values():
            connection.exec_driver_sql(entry["ddl"][dialect]["create"])
            for index in entry["ddl"][dialect]["indexes"]:
                connection.exec_driver_sql(index)
        required = {"customer_no": "C-1"} if name != "default" else {}
        columns = ", ".join(["id", "name", *required, "caruso_version"])
        connection.execute(text(f"INSERT INTO customer ({columns}) VALUES (7, 'Ann', "
                                + "".join(f":{c}, " for c in required) + "1)"), required)
    engine.dispose()


def serves_the_old_database(url: str, name: str) -> None:
    storage = StorageManager(model=model_files(name), db=url)
    try:
        owned = storage.schema.new_tables(storage.model, "main")
        with storage.engines["main"].connect().execution_options(**{WRITE_OPTION: True}) as connection, \
                connection.begin():
            found = migrate.differences(connection, owned)     # SQLite: tables that give a deleted key again
            assert all(d.automatic and d.text.endswith("rebuild as AUTOINCREMENT (it gives a deleted record's "
                                                       "key again)") for d in found)
            assert bool(found) == url.startswith("sqlite")
            migrate.apply(connection, found)
            assert migrate.differences(connection, owned) == []
        assert storage.get("Customer", 7)["name"] == "Ann"
        task = storage.create("Task", {"subject": "call Ann", "customer_id": 7})
        assert [t["id"] for t in storage.related("Customer", 7, "tasks")] == [task["id"]]
        # the sales and leads modules' tables, which the old database lacked, are made at start
        opportunity = storage.create("Opportunity", {"customer_id": 7, "title": "Savings plan"})
        assert storage.get("Opportunity", opportunity["id"])["stage"] == "initiation"
        assert storage.create("Lead", {"name": "Ann", "email": "ann@example.com"})["rating"] == "cold"
    finally:
        storage.stop()


@pytest.mark.parametrize("name", NAMES)
def test_an_existing_sqlite_database_is_served_unchanged(name, tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    existing_deployment(url, name, "sqlite")
    serves_the_old_database(url, name)


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_an_existing_postgresql_database_is_served_unchanged(name, postgres_database):
    existing_deployment(postgres_database, name, "postgresql")
    serves_the_old_database(postgres_database, name)


INTEGRATOR_MANIFEST = """name = "acme-energy"
version = "0.1.0"
description = "Acme Energy's own front office, on the utility vertical"
depends = ["utility"]

[services.storage]
files = { model = ["model.xml"] }
"""

INTEGRATOR_MODEL = """<model name="acme_energy">
  <include module="crm"/>
  <extend object="Customer">
    <attribute name="phone" length="32" label="Phone (international)"/>
    <attribute name="account_manager" type="string" length="80" label="Account manager"/>
  </extend>
  <extend object="Connection">
    <attribute name="grid_operator" type="string" length="40"/>
  </extend>
  <object name="SolarPanel" table="solar_panel" label="Solar panels">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="connection_id" type="integer" required="true"/>
    <attribute name="peak_kw" type="decimal" precision="6" scale="2" label="Peak power (kW)"/>
  </object>
</model>
"""


@pytest.fixture
def integrator(tmp_path):
    """The deployment of an integrator's vertical that depends on the utility vertical."""
    package = tmp_path / "caruso_acme_energy"
    package.mkdir()
    (package / "vertical.toml").write_text(INTEGRATOR_MANIFEST)
    (package / "model.xml").write_text(INTEGRATOR_MODEL)
    known = {**installed(), "acme-energy": read(package / "vertical.toml")}
    return deployment_data(["acme-energy"], known)["services"]


def test_an_integrators_vertical_extends_the_model_of_the_vertical_it_depends_on(integrator, tmp_path):
    files = integrator["storage"]["config"]["model"]
    assert files == [*model_files("utility"), str(tmp_path / "caruso_acme_energy" / "model.xml")]
    assert [q["name"] for q in integrator["comm"]["config"]["queues"]][0] == "outages"    # the vendor's settings stay
    storage = StorageManager(model=files, db=f"sqlite:///{tmp_path / 'acme.db'}")
    try:
        customer = storage.create("Customer", {"customer_no": "C-1", "name": "Ann", "phone": "+31 6 1234 5678 901",
                                               "account_manager": "Bas"})
        connection = storage.create("Connection", {"ean": "871687140000000001", "customer_id": customer["id"],
                                                   "commodity": "electricity", "grid_operator": "Liander"})
        storage.create("SolarPanel", {"connection_id": connection["id"], "peak_kw": "4.2"})
        assert storage.describe("Customer")["attributes"]["phone"]["label"] == "Phone (international)"
        assert storage.related("Customer", customer["id"], "connections")[0]["grid_operator"] == "Liander"
    finally:
        storage.stop()


def test_an_existing_vendor_deployment_takes_the_integrators_extension_with_model_upgrade(integrator, tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    StorageManager(model=model_files("utility"), db=url).stop()
    options = [option for file in integrator["storage"]["config"]["model"] for option in ("--model", file)]
    upgraded = caruso("model", "upgrade", *options, "--db", url)
    assert upgraded.exit_code == 0, upgraded.stderr
    assert "  done: + table solar_panel\n" in upgraded.stdout
    assert "  done: + column customer.account_manager\n" in upgraded.stdout
    assert "  done: + column connection.grid_operator\n" in upgraded.stdout
    assert "  ~ column customer.phone: type VARCHAR(20) -> VARCHAR(32) (not applied: change it by hand)\n" \
        in upgraded.stdout
