"""The verticals built on the CRM base module make the tables, columns, indexes and metadata
they made when each declared its own Customer and Task (``before/``, see layering_snapshot.py),
so the database of an existing deployment fits the rebuilt model without a migration."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from caruso_core.verticals import installed
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
    """A snapshot without the CREATE TABLE texts, whose column order may differ."""
    return {name: {"describe": entry["describe"],
                   "ddl": {dialect: {k: v for k, v in ddl.items() if k != "create"}
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
        with storage.engines["main"].connect().execution_options(**{WRITE_OPTION: True}) as connection:
            assert migrate.differences(connection, storage.schema.new_tables(storage.model, "main")) == []
        assert storage.get("Customer", 7)["name"] == "Ann"
        task = storage.create("Task", {"subject": "call Ann", "customer_id": 7})
        assert [t["id"] for t in storage.related("Customer", 7, "tasks")] == [task["id"]]
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
