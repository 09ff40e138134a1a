"""Fixtures of the front office's tests: an in-process app, users, a real front office
served against a real manager, and Chromium driven by Playwright."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from caruso_frontoffice.context import Context
from frontoffice_support import VIEWS, add_users, make_context, seed

@pytest.fixture
def context(tmp_path: Path) -> Context:
    return make_context(tmp_path)


@pytest.fixture
def web(context: Context) -> Iterator[TestClient]:
    with TestClient(create_app(context), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def storage(caruso_host: Any, caruso_client: Any) -> Any:
    """The storage service with its example CRM model, hosted and registered, seeded."""
    caruso_host("storage")
    proxy = caruso_client.get("caruso.storage/1")
    seed(proxy)
    return proxy


@pytest.fixture
def front_office(caruso_host: Any, caruso_client: Any, storage: Any, tmp_path: Path) -> str:
    """A real front office (``caruso serve frontoffice``) on a free port; returns its URL."""
    db = f"sqlite:///{tmp_path / 'served.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"address": "http://127.0.0.1:0", "db": db, "views": VIEWS})
    return caruso_client.get("frontoffice").url()


@pytest.fixture(scope="session")
def browser(chromium: Any) -> Any:
    return chromium
