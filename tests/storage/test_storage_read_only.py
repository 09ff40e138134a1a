"""A storage whose database is read-only: health says why, writes fail in one line, and it
recovers without a restart once the database is writable again."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from caruso_core.errors import Unavailable

from caruso_storage.service import StorageManager

SQLITE_REFUSAL = ("database main is read-only (attempt to write a readonly database); "
                  "writes work again once it is writable")


def file_modes_binding() -> list[str]:
    """A launcher under which file modes bind the host: as root, the host runs without the
    capability to override them (it stays root, the owner of the test's files)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--inh-caps", "-dac_override", "--bounding-set", "-dac_override"]


def storage_health(client) -> dict:
    [entry] = [row for row in client.health() if row["name"] == "storage"]
    return entry["health"]


def set_modes(folder: Path, name: str, mode: int) -> None:
    """``mode`` for the database file ``name`` and its -wal and -shm files."""
    for path in folder.glob(f"{name}*"):
        path.chmod(mode)


def test_sqlite_read_only_database_over_pyro5(caruso_host, caruso_client, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    StorageManager(db=url).stop()
    set_modes(tmp_path, "crm.db", 0o400)
    caruso_host("storage", config={"db": url, "due_every": 0}, launcher=file_modes_binding())
    storage = caruso_client.get("caruso.storage/1")

    with pytest.raises(Unavailable) as refused:
        storage.create("Customer", {"name": "Acme"})
    assert str(refused.value) == SQLITE_REFUSAL
    with pytest.raises(Unavailable, match=r"^operation 0-0: database main is read-only \("):
        storage.apply([{"op": "create", "object": "Customer", "values": {"name": "Acme"}}])
    health = storage_health(caruso_client)
    assert health["status"] == "degraded"
    assert health["reason"] == "database main is read-only (attempt to write a readonly database)"
    assert storage.count("Customer") == 0

    set_modes(tmp_path, "crm.db", 0o600)
    created = storage.create("Customer", {"name": "Acme"})
    assert storage.get("Customer", created["id"])["name"] == "Acme"
    assert storage_health(caruso_client)["status"] == "ok"


@pytest.mark.postgres
def test_postgresql_read_only_transactions(postgres_database: str):
    name = sa.make_url(postgres_database).database
    server = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")

    def read_only(setting: str) -> None:
        with server.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" {setting}')

    StorageManager(db=postgres_database).stop()
    read_only("SET default_transaction_read_only = on")
    storage = StorageManager(db=postgres_database, due_every=0)
    try:
        with pytest.raises(Unavailable, match=r"^database main is read-only \(cannot execute INSERT in a "
                                              r"read-only transaction\); writes work again once it is writable$"):
            storage.create("Customer", {"name": "Acme"})
        assert storage.health()["status"] == "degraded"
        assert "default_transaction_read_only" in storage.health()["reason"]
        assert storage.count("Customer") == 0

        read_only("RESET default_transaction_read_only")
        created = storage.create("Customer", {"name": "Acme"})
        assert storage.get("Customer", created["id"])["name"] == "Acme"
        assert storage.health()["status"] == "ok"
    finally:
        storage.stop()
        server.dispose()
