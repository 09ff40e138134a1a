"""Fixtures of the front office's tests: an in-process app, users, a real front office
served against a real manager, and Chromium driven by Playwright."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from caruso_frontoffice.context import Context
from frontoffice_support import DESK, DESKTOP, QUICK_COST, VIEWS, add_users, make_context, seed, Tab

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
    caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                       "address": "http://127.0.0.1:0", "db": db, "views": VIEWS, "desk": DESK})
    return caruso_client.get("frontoffice").url()


@pytest.fixture(scope="session")
def browser(chromium: Any) -> Any:
    return chromium


@pytest.fixture
def shots() -> Path | None:
    """Where browser tests put the documentation's screenshots: ``CARUSO_SCREENSHOTS`` (e.g.
    docs/img); None, and none are taken, without it (they prove nothing a test asserts)."""
    target = os.environ.get("CARUSO_SCREENSHOTS")
    if not target:
        return None
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def tab(browser: Any, front_office: str, shots: Path) -> Iterator[Any]:
    """``tab(viewport)`` opens a :class:`Tab` on the served front office; all are closed at the end."""
    opened = []

    def open_tab(viewport=DESKTOP):
        opened.append(Tab(browser, front_office, viewport, shots))
        return opened[-1]

    yield open_tab
    for one in opened:
        one.close()
