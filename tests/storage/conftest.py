"""Fixtures of the storage tests: every database test runs on SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa

from caruso_core import HostContext, connect
from caruso_storage.service import StorageManager

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("CARUSO_DATA", str(folder))
    return folder


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
             pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crm.db'}"
    return request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_database")


def raw_engine(url: str) -> sa.Engine:
    """An engine for the tests' own SQL: on MariaDB names in double quotes are names
    (``ANSI_QUOTES``) and ``||`` joins text (``PIPES_AS_CONCAT``), so one SQL text makes and
    checks a legacy table on every database, and ``CHAR`` values keep their padding
    (``PAD_CHAR_TO_FULL_LENGTH``), as they do on the others."""
    engine = sa.create_engine(url)
    if engine.dialect.name in ("mysql", "mariadb"):
        sa.event.listen(engine, "connect", lambda connection, _record: connection.cursor().execute(
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES,PIPES_AS_CONCAT,PAD_CHAR_TO_FULL_LENGTH')"))
    return engine


@pytest.fixture
def make_storage(database_url: str) -> Iterator[Callable[..., StorageManager]]:
    """Build storage services on the test's database (model: a path or a list of them, default the
    packaged one)."""
    built: list[StorageManager] = []

    def make(model: str | Path | list[str] | None = None, **config: Any) -> StorageManager:
        config.setdefault("db", database_url)
        # no manager here: a rule's service call fails at once instead of waiting for one to appear
        config.setdefault("context", HostContext.standalone("storage", connect("PYRO:caruso.manager@127.0.0.1:9",
                                                                               timeout=0.2)))
        storage = StorageManager(model=str(model) if isinstance(model, (str, Path)) else model, **config)
        built.append(storage)
        return storage

    yield make
    for storage in built:
        storage.stop()


@pytest.fixture
def storage(make_storage: Callable[..., StorageManager]) -> StorageManager:
    return make_storage()
