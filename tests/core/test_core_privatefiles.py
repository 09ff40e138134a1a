"""Files and folders caruso creates for data are closed to other local users whatever the
umask; what exists already keeps its mode."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from caruso_core import privatefiles
from caruso_core.databases import engine
from caruso_core.deployment import data_dir

pytestmark = pytest.mark.usefixtures("permissive_umask")


def modes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()}


def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_0600(tmp_path):
    database = engine(f"sqlite:///{tmp_path / 'manager.db'}")
    with database.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE token (value TEXT)")
        connection.exec_driver_sql("INSERT INTO token VALUES ('secret')")
        assert modes(tmp_path) == {"manager.db": 0o600, "manager.db-wal": 0o600, "manager.db-shm": 0o600}
    database.dispose()


def test_a_new_sqlite_database_in_rollback_mode_and_its_journal_are_0600(tmp_path):
    database = engine(f"sqlite:///{tmp_path / 'plain.db'}", wal=False)
    with database.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE iban (value TEXT)")
        connection.exec_driver_sql("INSERT INTO iban VALUES ('DE02120300000000202051')")
        assert modes(tmp_path) == {"plain.db": 0o600, "plain.db-journal": 0o600}
    database.dispose()


def test_an_existing_database_keeps_its_mode(tmp_path):
    legacy = tmp_path / "erp.sqlite"
    with sqlite3.connect(legacy) as connection:
        connection.execute("CREATE TABLE customer (name TEXT)")
    legacy.chmod(0o644)
    database = engine(f"sqlite:///{legacy}", wal=False)
    with database.begin() as connection:
        connection.exec_driver_sql("INSERT INTO customer VALUES ('Acme')")
    database.dispose()
    assert modes(tmp_path) == {"erp.sqlite": 0o644}


def test_the_data_folder_is_made_0700_and_an_existing_one_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "acme" / "data"))
    assert data_dir() == tmp_path / "acme" / "data"
    assert modes(tmp_path / "acme") == {"data": 0o700}
    (tmp_path / "acme" / "data").chmod(0o750)
    data_dir()
    assert modes(tmp_path / "acme") == {"data": 0o750}


def test_a_written_file_is_0600_unless_it_existed(tmp_path):
    privatefiles.write_file(tmp_path / "new.csv", b"agent;calls\n")
    (tmp_path / "shared.csv").write_bytes(b"")
    (tmp_path / "shared.csv").chmod(0o640)
    privatefiles.write_file(tmp_path / "shared.csv", b"agent;calls\n")
    assert modes(tmp_path) == {"new.csv": 0o600, "shared.csv": 0o640}
    assert (tmp_path / "shared.csv").read_bytes() == b"agent;calls\n"
