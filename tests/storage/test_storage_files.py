"""The storage's default database holds customer data: its folder and files are private."""
from __future__ import annotations

from caruso_storage.service import StorageManager


def test_the_default_database_and_the_data_folder_are_private(data_folder, permissive_umask):
    storage = StorageManager(due_every=0)
    try:
        storage.create("Customer", {"name": "Acme"})
        assert data_folder.stat().st_mode & 0o777 == 0o700
        assert {path.name: path.stat().st_mode & 0o777 for path in data_folder.iterdir()} == {
            "storage.db": 0o600, "storage.db-wal": 0o600, "storage.db-shm": 0o600}
    finally:
        storage.stop()
