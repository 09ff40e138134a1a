"""Reports people read, in Chromium at 1366 and 390 pixels: headings are the labels of the
report definition, percentages and durations are written as the terminal table writes them,
the table fits its card at 1366 pixels, a phone gets a chart drawn for its width, and a range without events says so without a chart."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter

import pytest

from caruso_core.testing.commands import caruso
from frontoffice_support import PHONE, QUICK_COST, add_users, Tab

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}
DAY = ["--agents", "3", "--calls-per-hour", "60", "--aht", "150", "--hours", "2", "--patience", "40",
       "--wrap-up", "10", "--seed", "5"]
LABELS = ["Period", "Queue", "Offered", "Answered", "Abandoned", "Abandoned within 5 s", "Transferred",
          "Overflowed", "Service level", "Service level of answered", "Average wait (m:ss)",
          "Average handling (m:ss)", "Average talk (m:ss)", "Longest wait (m:ss)"]
FIGURE = re.compile(r"^(\d+|\d+\.\d%|\d+:\d\d(:\d\d)?|-)$")


@pytest.fixture
def reports_site(caruso_host, caruso_client, tmp_path, browser, shots):
    """A simulated day in the event log, the reports service over it, the front office and a
    supervisor's tabs; the day (YYYY-MM-DD) and the log's URL."""
    events = f"sqlite:///{tmp_path / 'comm.db'}"
    simulated = caruso("simulate", *DAY, "--db", events, "--json")
    assert simulated.returncode == 0, simulated.stderr
    caruso_host("reports", config={"db": events})
    db = f"sqlite:///{tmp_path / 'fo.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db})
    tabs = [Tab(browser, caruso_client.get("frontoffice").url(), size, shots) for size in (WIDE, PHONE)]
    for tab in tabs:
        tab.sign_in("sam").wait_for_url("**/")
    exported = caruso("report", "incoming-calls", "--db", events, "--format", "csv")
    day = next(csv.DictReader(io.StringIO(exported.stdout)))["period"][:10]
    yield tabs, day, events
    for tab in tabs:
        tab.close()


def test_a_report_reads_like_its_definition_and_fits_its_card(reports_site):
    (wide, phone), day, events = reports_site
    page = wide.open(f"/supervisor/reports?name=incoming-calls&from={day}&to={day}")
    assert page.locator("table.figures th").all_inner_texts() == LABELS
    cells = [row[2:] for row in (r.locator("td").all_inner_texts() for r in page.locator("table.figures tbody tr").all())]
    assert cells and all(FIGURE.match(cell) for row in cells for cell in row), cells
    fits = page.evaluate("""() => { const box = document.querySelector('section.report .scroll');
        return box.scrollWidth <= box.clientWidth; }""")
    assert fits, "the table is wider than its card at 1366 pixels"
    assert page.locator("img.chart").evaluate("img => img.complete && img.naturalWidth") == 1100
    wide.shot("frontoffice-reports.png")
    terminal = caruso("report", "incoming-calls", "--db", events, "--from", day, "--to", day).stdout
    percentages = Counter(re.findall(r"\d+\.\d%", terminal))
    assert percentages and percentages == Counter(c for row in cells for c in row if c.endswith("%"))
    page = phone.open(f"/supervisor/reports?name=incoming-calls&from={day}&to={day}")
    assert page.locator("img.chart").evaluate("img => img.complete && img.naturalWidth") == 400   # drawn for it
    phone.shot("frontoffice-reports-phone.png")


def test_a_range_without_events_says_so_without_a_chart(reports_site):
    (wide, phone), _, _ = reports_site
    for tab in (wide, phone):
        page = tab.open("/supervisor/reports?name=incoming-calls&from=2020-01-01&to=2020-01-02")
        assert page.locator("section.report p.empty").inner_text() == "No events in this range."
        assert page.locator("section.report p.hint").inner_text() == "2020-01-01 to 2020-01-02 (UTC), by hour"
        assert page.locator("img.chart").count() == 0 and page.locator("table.figures").count() == 0
