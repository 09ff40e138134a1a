"""Synthetic histories of the analytics tests (generated once per test module), and a
solution holding one in its storage."""
from __future__ import annotations

import pytest

from caruso_analytics import synthetic

from analytics_support import MODEL, SOURCE, ending_today, load


@pytest.fixture(scope="module")
def full_history():
    """Fifty thousand customers over two years (about 3 s)."""
    return synthetic.generate(50_000, seed=11)


@pytest.fixture(scope="module")
def small_history():
    """Eight thousand customers over two years."""
    return synthetic.generate(8_000, seed=5)


@pytest.fixture
def solution(caruso_host, caruso_client, tmp_path):
    """A storage on SQLite holding two thousand synthetic customers' history ending today;
    the storage's proxy, the history, and a function hosting the analytics service with
    the configuration given (over the source of analytics_support) and returning its proxy."""
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    history = ending_today(synthetic.generate(2_000, seed=2))
    storage = caruso_client.get("caruso.storage/1")
    load(storage, history)

    def analytics(**config):
        caruso_host("analytics", config={"source": SOURCE, "models_file": str(tmp_path / "models.json"), **config})
        return caruso_client.get("caruso.analytics/1")
    return storage, history, analytics
