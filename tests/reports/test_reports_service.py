"""caruso report without --db: the running solution's caruso.reports/1 service computes it."""
from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from caruso_core.errors import ConfigError

from reports_support import agents_logged_in, caruso


def test_the_service_gives_the_same_report_as_the_database(simulated_day, caruso_host, caruso_client):
    url, figures = simulated_day
    caruso_host("reports", config={"db": url})
    env = dict(os.environ)     # CARUSO_MANAGER points at the test's manager
    direct = caruso("report", "incoming-calls", "--db", url, "--format", "csv", "--period", "day")
    served = caruso("report", "incoming-calls", "--format", "csv", "--period", "day", env=env)
    assert served.returncode == 0, served.stderr
    assert served.stdout == direct.stdout and f',"{figures["offered"]}",' in served.stdout
    reports = caruso_client.get("caruso.reports/1")
    with pytest.raises(ConfigError, match="unknown measure 'ofered'"):
        reports.run('measures = ["ofered"]', "mine")
    empty = reports.run('measures = ["offered"]', "mine", 0.0, 60.0)
    assert empty["rows"] == [] and empty["measures"] == ["offered"]


def test_a_service_without_an_event_log_says_so(caruso_host, caruso_client, tmp_path):
    caruso_host("reports", config={"db": f"sqlite:///{tmp_path / 'missing.db'}"})
    with pytest.raises(ConfigError, match="no such file"):
        caruso_client.get("caruso.reports/1").run('measures = ["offered"]', "mine")


def test_agent_times_of_today_end_now_not_at_the_end_of_the_range(caruso_host, caruso_client, tmp_path):
    """An agent logged in half an hour ago and still logged in: today's report counts that half
    hour, not the hours up to midnight that have not come yet."""
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    login = time.time() - 1800
    clock, log, acd = agents_logged_in(url, login, "ann")
    clock.now = login + 600
    acd.set_status("ann", "break")
    log.close()
    caruso_host("reports", config={"db": url})
    reports = caruso_client.get("caruso.reports/1")
    asked = time.time()
    start, end = login - 3600, login + 86400                      # a range reaching into tomorrow
    days = reports.report("agent-availability", start, end, period="day")["rows"]
    answered = time.time()
    login_day = dt.datetime.fromtimestamp(login, dt.timezone.utc).date()     # the half hour may cross midnight
    assert len(days) in {1 + (login_day != dt.datetime.fromtimestamp(t, dt.timezone.utc).date())
                         for t in (asked, answered)}
    ann = {measure: sum(day[measure] for day in days) for measure in ("logged_in", "available", "break")}
    assert 1800 <= ann["logged_in"] <= answered - login
    assert ann["available"] == pytest.approx(600) and 1200 <= ann["break"] <= answered - login - 600
    # no interaction: 0.0 on a day with available time; None (nothing to divide by) on a day all break
    assert [day["occupancy"] for day in days] == [0.0 if day["available"] else None for day in days]
    quarters = reports.report("agent-availability", start, end, period="15min")["rows"]
    answered = time.time()
    latest = max(dt.datetime.fromisoformat(r["period"]).replace(tzinfo=dt.timezone.utc).timestamp() for r in quarters)
    assert asked - 900 <= latest <= answered                      # no quarter hour after now
    assert sum(r["logged_in"] for r in quarters) == pytest.approx(ann["logged_in"], abs=answered - asked + 1)
