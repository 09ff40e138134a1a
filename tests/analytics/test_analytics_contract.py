"""The analytics service conforms to caruso.analytics/1, hosted over Pyro5 with a storage on SQLite."""
from __future__ import annotations

import pytest

from caruso_core.testing import contract_suite

from caruso_analytics import synthetic
from analytics_support import MODEL, SOURCE, ending_today, load


@pytest.fixture(scope="module")
def hosted(caruso_cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("analytics")
    caruso_cluster.host("storage", config={"model": str(MODEL), "db": f"sqlite:///{folder / 'crm.db'}"})
    load(caruso_cluster.client.get("caruso.storage/1"), ending_today(synthetic.generate(1_200, seed=4)))
    caruso_cluster.host("analytics", config={"source": SOURCE, "models_file": str(folder / "models.json")})
    return caruso_cluster.client.get("caruso.analytics/1")


class TestAnalyticsService(contract_suite("caruso.analytics/1")):
    @pytest.fixture
    def service(self, hosted):
        return hosted
