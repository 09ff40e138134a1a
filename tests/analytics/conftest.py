"""Synthetic histories of the analytics tests (generated once per test module), and a
solution holding one in its storage (a copy of a database loaded once per module)."""
from __future__ import annotations

import shutil

import pytest

from caruso_analytics import synthetic

from analytics_support import MODEL, SOURCE, stored


@pytest.fixture(scope="module")
def full_history():
    """Fifty thousand customers over two years (about 3 s)."""
    return synthetic.generate(50_000, seed=11)


@pytest.fixture(scope="module")
def small_history():
    """Eight thousand customers over two years."""
    return synthetic.generate(8_000, seed=5)


@pytest.fixture(scope="module")
def stored_history(tmp_path_factory):
    """A thousand synthetic customers' history ending today, in a SQLite file written once a
    module (tests host copies of it); the file and the history."""
    return stored(tmp_path_factory.mktemp("history"), 1_000, seed=2)


@pytest.fixture
def solution(caruso_host, caruso_client, stored_history, tmp_path):
    """A storage on SQLite holding a copy of ``stored_history``; the storage's proxy, the
    history, and a function hosting the analytics service with the configuration given (over
    the source of analytics_support) and returning its proxy."""
    path, history = stored_history
    shutil.copy(path, tmp_path / "crm.db")
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")

    def analytics(**config):
        caruso_host("analytics", config={"source": SOURCE, "models_file": str(tmp_path / "models.json"), **config})
        return caruso_client.get("caruso.analytics/1")
    return storage, history, analytics
