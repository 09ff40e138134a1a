"""caruso report without --db: the running solution's caruso.reports/1 service computes it."""
from __future__ import annotations

import os

import pytest

from caruso_core.errors import ConfigError

from reports_support import caruso


def test_the_service_gives_the_same_report_as_the_database(simulated_day, caruso_host, caruso_client):
    url, figures = simulated_day
    caruso_host("reports", config={"db": url})
    env = dict(os.environ)     # CARUSO_MANAGER points at the test's manager
    direct = caruso("report", "incoming-calls", "--db", url, "--format", "csv", "--period", "day")
    served = caruso("report", "incoming-calls", "--format", "csv", "--period", "day", env=env)
    assert served.returncode == 0, served.stderr
    assert served.stdout == direct.stdout and f",{figures['offered']}," in served.stdout
    reports = caruso_client.get("caruso.reports/1")
    with pytest.raises(ConfigError, match="unknown measure 'ofered'"):
        reports.run('measures = ["ofered"]', "mine")
    empty = reports.run('measures = ["offered"]', "mine", 0.0, 60.0)
    assert empty["rows"] == [] and empty["measures"] == ["offered"]


def test_a_service_without_an_event_log_says_so(caruso_host, caruso_client, tmp_path):
    caruso_host("reports", config={"db": f"sqlite:///{tmp_path / 'missing.db'}"})
    with pytest.raises(ConfigError, match="no such file"):
        caruso_client.get("caruso.reports/1").run('measures = ["offered"]', "mine")
