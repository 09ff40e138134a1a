"""Acceptance: reports over a simulated day agree with the simulator and with the raw events."""
from __future__ import annotations

import csv
import io
import sqlite3
from collections import defaultdict

import pytest
from matplotlib import image

from reports_support import caruso

AGENT_STATES = ("available", "ringing", "busy", "wrap_up", "break")


def _csv(*arguments: str) -> list[dict[str, str]]:
    done = caruso("report", *arguments, "--format", "csv")
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


def _database(url: str) -> sqlite3.Connection:
    return sqlite3.connect(url.removeprefix("sqlite:///"))


def test_incoming_calls_totals_equal_the_simulators_figures_and_the_events(simulated_day):
    url, figures = simulated_day
    hourly = _csv("incoming-calls", "--db", url)
    assert len(hourly) >= 8 and {row["queue"] for row in hourly} == {"sim"}
    for name in ("offered", "answered", "abandoned"):
        assert sum(int(row[name]) for row in hourly) == figures[name]
    with _database(url) as db:
        counted = db.execute("select sum(event = 'enter'), count(distinct case when event = 'connect' "
                             "then interaction end), sum(event = 'abandon') from comm_events").fetchone()
    assert counted == (figures["offered"], figures["answered"], figures["abandoned"])
    (day,) = _csv("incoming-calls", "--db", url, "--period", "day")
    assert (int(day["offered"]), int(day["answered"]), int(day["abandoned"])) == counted
    assert float(day["service_level_answered"]) == pytest.approx(figures["service_level"], abs=5e-5)
    assert float(day["asa"]) == pytest.approx(figures["asa_seconds"], abs=5e-3)
    assert float(day["aht"]) == pytest.approx(figures["aht_seconds"], abs=5e-3)
    short = int(day["short_abandoned"])
    within = round(figures["service_level"] * figures["answered"])
    assert float(day["service_level"]) == pytest.approx(within / (figures["offered"] - short), abs=5e-5)


def _logged_in_seconds(url: str) -> dict[str, float]:
    """Per agent, the time between logging in and out, straight from agent_status events."""
    totals: dict[str, float] = defaultdict(float)
    since: dict[str, float] = {}
    with _database(url) as db:
        rows = db.execute("select agent, time, json_extract(data, '$.status') from comm_events "
                          "where event = 'agent_status' order by id").fetchall()
    for agent, time, status in rows:
        if status == "logged_out":
            totals[agent] += time - since.pop(agent)
        else:
            since.setdefault(agent, time)
    assert not since, "the simulator logs every agent out at the end"
    return dict(totals)


def test_agent_availability_times_add_up_to_the_logged_in_time(simulated_day):
    url, figures = simulated_day
    rows = _csv("agent-availability", "--db", url)
    expected = _logged_in_seconds(url)
    assert {row["agent"] for row in rows} == set(expected) and len(expected) == 12
    by_agent: dict[str, float] = defaultdict(float)
    for row in rows:
        parts = sum(float(row[state]) for state in AGENT_STATES)
        assert parts == pytest.approx(float(row["logged_in"]), abs=0.05)
        assert float(row["busy"]) > 0 and float(row["available"]) > 0
        by_agent[row["agent"]] += float(row["logged_in"])
    for agent, seconds in expected.items():
        assert by_agent[agent] == pytest.approx(seconds, abs=0.05)


def test_a_users_own_definition_gives_the_day_in_one_row(simulated_day, tmp_path):
    url, figures = simulated_day
    (tmp_path / "day-summary.toml").write_text(
        'title = "Day summary"\nmeasures = ["offered", "occupancy", "logged_in"]\ndimensions = []\n')
    done = caruso("report", "day-summary", "--definitions", str(tmp_path), "--db", url, "--format", "csv")
    assert done.returncode == 0, done.stderr
    (row,) = list(csv.DictReader(io.StringIO(done.stdout)))
    assert int(row["offered"]) == figures["offered"]
    assert float(row["occupancy"]) == pytest.approx(figures["occupancy"], abs=5e-5)
    assert float(row["logged_in"]) == pytest.approx(sum(_logged_in_seconds(url).values()), abs=0.05)


def test_png_html_and_pdf_are_produced_and_the_chart_shows_something(simulated_day, tmp_path, permissive_umask):
    url, _ = simulated_day
    for output_format in ("png", "html", "pdf"):
        done = caruso("report", "incoming-calls", "--db", url, "--format", output_format,
                      "--output", str(tmp_path / f"calls.{output_format}"))
        assert done.returncode == 0, done.stderr
        assert (tmp_path / f"calls.{output_format}").stat().st_mode & 0o777 == 0o600
    pixels = image.imread(str(tmp_path / "calls.png"))
    assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 500
    coloured = (abs(pixels[:, :, 0] - pixels[:, :, 2]) > 0.2).mean()     # bars, not only black on white
    assert (pixels[:, :, :3] < 0.9).any(axis=2).mean() > 0.02 and coloured > 0.01
    page = (tmp_path / "calls.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h1>Incoming calls</h1>" in page
    assert 'src="data:image/png;base64,' in page and page.count("<tr>") >= 9
    assert (tmp_path / "calls.pdf").read_bytes().startswith(b"%PDF")


def test_caruso_report_takes_the_time_zone_of_the_deployment_here(simulated_day, tmp_path, monkeypatch):
    url, figures = simulated_day
    in_utc = _csv("incoming-calls", "--db", url)
    (tmp_path / "caruso.toml").write_text('timezone = "Asia/Kolkata"\n[services.reports]\nuse = "reports"\n')
    monkeypatch.chdir(tmp_path)
    in_kolkata = _csv("incoming-calls", "--db", url)
    assert (in_utc[0]["period"][-5:], in_kolkata[0]["period"][-5:]) == ("08:00", "13:00")   # 08:00 UTC is 13:30 there
    assert sum(int(row["offered"]) for row in in_kolkata) == sum(int(row["offered"]) for row in in_utc) == figures["offered"]


def test_the_terminal_table_has_one_line_per_hour(simulated_day):
    url, figures = simulated_day
    done = caruso("report", "incoming-calls", "--db", url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Incoming calls" and lines[3].split()[:3] == ["Period", "Queue", "Offered"]
    assert "Service level" in lines[3] and "Average wait (m:ss)" in lines[3]   # the definition's labels
    hours = [line for line in lines[4:] if line.strip()]
    assert len(hours) == len(_csv("incoming-calls", "--db", url))
    assert sum(int(line.split()[3]) for line in hours) == figures["offered"]
