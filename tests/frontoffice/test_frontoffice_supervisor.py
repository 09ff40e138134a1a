"""Supervisor pages over a real manager, communication server, status monitor and
reports service: the live wallboard in Chromium, reports with charts, campaign control;
roles, CSRF and bad input refused."""
import codecs
import datetime as dt
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from starlette.testclient import TestClient

from caruso_core.testing import eventually
from caruso_frontoffice.app import create_app
from frontoffice_support import DESKTOP, PHONE, QUICK_COST, add_users, csrf_of, make_context, sign_in, Tab

QUEUES = [{"name": "sales", "offer_timeout": 60.0, "max_no_answer": 0, "sl_target": 30},
          {"name": "complaints", "wrap_up": 600}]               # no calls but in one test
THRESHOLDS = {"sales": {"waiting": [1, 2]}}
WALL = {"width": 1920, "height": 1080}
CALL_LIST = "number,customer\n+49 30 1111111,1\n+49 30 2222222,2\n+49 30 3333333,3\n"


def _monitor_health(client):
    return next(row["health"] for row in client.health() if row["name"] == "monitor")


@pytest.fixture
def centre(caruso_host, caruso_client, tmp_path):
    """The communication server with a draft campaign, the monitor and the reports service
    over its event log; returns the comm client."""
    db = f"sqlite:///{tmp_path / 'comm.db'}"
    caruso_host("comm", config={"queues": QUEUES, "db": db})
    caruso_host("monitor", config={"db": db, "poll": 0.2, "thresholds": THRESHOLDS})
    caruso_host("reports", config={"db": db})
    comm = caruso_client.get("caruso.comm/1")
    comm.add_campaign("spring", "sales", contacts_csv=CALL_LIST)
    return comm


@pytest.fixture
def web(centre, caruso_manager, tmp_path):
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as client:
        yield client

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def supervisor_site(centre, caruso_host, caruso_client, tmp_path):
    db = f"sqlite:///{tmp_path / 'served.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       "timezone": NEW_YORK.key})
    return caruso_client.get("frontoffice").url()


PAGES = ["/supervisor", "/supervisor/wallboard.json", "/supervisor/reports", "/supervisor/campaigns",
         "/supervisor/reports/chart.png?name=incoming-calls&from=2026-11-01&to=2026-11-02"]


@pytest.mark.parametrize("path", PAGES)
def test_agents_and_visitors_are_refused(web, path):
    assert web.get(path, follow_redirects=False).headers["location"].startswith("/signin?next=")
    sign_in(web, "ada")
    assert web.get(path).status_code == 403
    csrf = csrf_of(web.get("/").text)
    assert web.post("/supervisor/campaigns", data={"csrf": csrf, "name": "spring", "action": "start"}
                    ).status_code == 403


def test_campaign_actions_need_the_csrf_token_and_a_known_action(web, centre):
    sign_in(web, "sam")
    page = web.get("/supervisor/campaigns")
    assert page.status_code == 200 and "spring" in page.text and "0 / 3" in page.text
    assert web.post("/supervisor/campaigns", data={"name": "spring", "action": "start"}).status_code == 403
    assert web.post("/supervisor/campaigns", data={"name": "spring", "action": "start", "csrf": "x"}
                    ).status_code == 403
    assert centre.campaign("spring")["state"] == "draft"
    csrf = csrf_of(page.text)
    refused = web.post("/supervisor/campaigns", data={"csrf": csrf, "name": "spring", "action": "finish"})
    assert refused.status_code == 400 and "use start, pause, resume" in refused.text
    unknown = web.post("/supervisor/campaigns", data={"csrf": csrf, "name": "<autumn>", "action": "start"})
    assert unknown.status_code == 404 and "no campaign &#39;&lt;autumn&gt;&#39;" in unknown.text
    started = web.post("/supervisor/campaigns", data={"csrf": csrf, "name": "spring", "action": "start"},
                       follow_redirects=False)                     # done: back to the page (a reload repeats nothing)
    assert started.status_code == 303 and started.headers["location"] == "/supervisor/campaigns"
    shown = web.get("/supervisor/campaigns").text
    assert '<p class="notice" role="status">Campaign spring is active.</p>' in shown and ">Pause</button>" in shown
    assert "Campaign spring is active." not in web.get("/supervisor/campaigns").text     # said once
    twice = web.post("/supervisor/campaigns", data={"csrf": csrf, "name": "spring", "action": "start"})
    assert twice.status_code == 409 and "is active: cannot become active" in twice.text
    assert centre.campaign("spring")["state"] == "active"


@pytest.mark.parametrize("query, status, message", [
    ("name=incoming-calls&from=2026-13-01&to=2026-11-02", 400, "From: a date like 2026-11-29, please"),
    ("name=incoming-calls&from=2026-11-01&to=yesterday", 400, "To: a date like 2026-11-29, please"),
    ("name=incoming-calls&from=2026-11-02&to=2026-11-01", 400, "To is before From"),
    ("name=incoming-calls&from=2020-01-01&to=2026-11-01", 400, "longer than 366 days"),
    ("name=incoming-calls&from=9999-12-30&to=9999-12-31", 400, "A report covers days from 1970-01-01 to 9998-12-31"),
    ("name=incoming-calls&from=0001-01-01&to=0001-01-02", 400, "A report covers days from 1970-01-01"),
    ("name=%3Cscript%3E&from=2026-11-01&to=2026-11-01", 404, "There is no report &#39;&lt;script&gt;&#39;"),
])
def test_bad_report_requests_are_refused_with_one_line(web, query, status, message):
    sign_in(web, "sam")
    page = web.get(f"/supervisor/reports?{query}")
    assert page.status_code == status and message in page.text
    chart = web.get(f"/supervisor/reports/chart.png?{query}")
    assert chart.status_code == status and chart.headers["content-type"].startswith("text/plain")


def test_a_report_downloads_as_csv_html_and_pdf_for_supervisors_only(web):
    sign_in(web, "sam")
    query = "name=incoming-calls&from=2026-11-01&to=2026-11-02"
    page = web.get(f"/supervisor/reports?{query}").text
    assert f'href="/supervisor/reports/download?{query.replace("&", "&amp;")}&amp;format=csv"' in page
    for kind, starts in (("csv", codecs.BOM_UTF8 + b'"Period","Queue","Offered",'), ("html", b"<!doctype html>"),
                         ("pdf", b"%PDF")):
        got = web.get(f"/supervisor/reports/download?{query}&format={kind}")
        assert got.status_code == 200 and got.content.lower().startswith(starts.lower()), (kind, got.content[:60])
        assert got.headers["content-disposition"] == f'attachment; filename="incoming-calls-2026-11-01-2026-11-02.{kind}"'
    for bad, status in (("format=exe", 400), ("format=", 400), ("format=csv&from=9999-12-31", 400)):
        refused = web.get(f"/supervisor/reports/download?{query}&{bad}")
        assert refused.status_code == status and refused.headers["content-type"].startswith("text/plain"), bad
    sign_in(web, "ada")
    assert web.get(f"/supervisor/reports/download?{query}&format=csv").status_code == 403


def test_a_report_of_records_says_the_days_do_not_apply(web, caruso_host):
    caruso_host("storage")
    sign_in(web, "sam")
    page = web.get("/supervisor/reports?name=sales-pipeline&from=2026-11-01&to=2026-11-02")
    assert page.status_code == 200 and "Counted from the records as they are now" in page.text
    assert "None" not in page.text
    assert "No records to count." in page.text and "No events in this range" not in page.text     # none stored


def test_the_wallboard_feed_is_the_monitors_picture(web, centre):
    sign_in(web, "sam")
    assert web.get("/supervisor/wallboard.json?since=soon").json()["error"].startswith("since='soon'")
    centre.login("ann")
    picture = eventually(lambda: web.get("/supervisor/wallboard.json?since=-1").json(),
                     lambda p: [a["id"] for a in p["agents"]] == ["ann"])
    assert picture["agent_counts"]["logged_in"] == 1 and picture["version"] >= 1
    assert picture["abbreviation"] == "UTC"                          # the front office's zone's
    assert picture["campaigns"] == [] or picture["campaigns"][0]["name"] == "spring"


@pytest.mark.browser
def test_the_wallboard_changes_when_an_agent_changes_state(browser, supervisor_site, centre, shots):
    desk = Tab(browser, supervisor_site, DESKTOP, shots)
    try:
        page = desk.sign_in("sam")
        page.wait_for_url("**/")
        page = desk.open("/supervisor")
        before = dt.datetime.now(NEW_YORK).tzname()
        page.wait_for_selector("#wallboard-status:has-text('Live')")
        shown = page.inner_text("#wallboard-status")                 # as the pages write it, not GMT-5
        assert re.fullmatch(r"Live · as of \d\d:\d\d:\d\d (EST|EDT)", shown)
        assert shown[-3:] in {before, dt.datetime.now(NEW_YORK).tzname()}
        page.evaluate("window.loadedOnce = true")
        centre.login("ann")
        centre.login("bob", status="break")
        ann = page.locator("#agents tbody tr[data-key=ann]")
        ann.wait_for()
        assert ann.locator("td").nth(1).inner_text() == "available"
        centre.set_status("ann", "break", "training")
        expect(ann.locator("td").nth(1)).to_have_text("break")
        assert ann.locator("td").nth(4).inner_text() == "training"
        centre.set_status("ann", "available")
        centre.arrive("complaints", id="call-0")
        centre.accept("ann", "call-0")
        centre.complete("ann", "call-0")
        expect(ann.locator("td").nth(2)).to_have_text("wrap up")        # the queue's wrap-up, in words
        centre.end_wrap_up("ann", "call-0")
        centre.arrive("sales", id="call-1")
        centre.arrive("sales", id="call-2")
        page.wait_for_selector("#waiting tbody tr[data-key=call-2]")
        cells = page.locator("#waiting tbody tr[data-key=call-2] td").all_inner_texts()
        assert (cells[:2], cells[3]) == (["sales", "voice"], "waiting") and "call-2" not in cells   # no ids
        expect(page.locator("#waiting tbody tr[data-key=call-1] td").nth(3)).to_have_text("ringing at ann")
        page.wait_for_selector("#agents tbody tr[data-key=ann] >> text=offered")
        assert page.evaluate("window.loadedOnce") is True          # the same page, never reloaded
        counts = page.locator("#agent-counts li").evaluate_all(
            "items => items.map(item => [item.dataset.count, item.querySelector('.value').textContent])")
        assert dict(counts) == {"logged_in": "2", "ringing": "1", "on_break": "1"}   # each agent counted once
        desk.check_layout("wallboard")
        desk.shot("frontoffice-wallboard.png")
    finally:
        desk.close()


def _figure(page, queue, figure):
    return page.locator(f"#queue-tiles [data-queue={queue}] [data-figure={figure}]")


@pytest.mark.browser
@pytest.mark.parametrize("screen", [WALL, PHONE], ids=["wall-1920", "phone-390"])
def test_the_wallboard_shows_every_queue_in_figures_read_from_across_the_room(browser, supervisor_site, centre,
                                                                             shots, screen):
    wall = Tab(browser, supervisor_site, screen, shots)
    try:
        wall.sign_in("sam").wait_for_url("**/")
        page = wall.open("/supervisor")
        expect(_figure(page, "complaints", "waiting").locator(".value")).to_have_text("0")   # idle, shown
        expect(_figure(page, "sales", "waiting")).to_have_attribute("data-level", "ok")
        assert "target 0:30" in page.locator("#queue-tiles [data-queue=sales] .detail").inner_text()
        centre.arrive("sales", id="call-1")
        expect(_figure(page, "sales", "waiting")).to_have_attribute("data-level", "warn")     # 1 of [1, 2]
        centre.arrive("sales", id="call-2")
        expect(_figure(page, "sales", "waiting")).to_have_attribute("data-level", "alert")
        expect(_figure(page, "complaints", "waiting")).to_have_attribute("data-level", "ok")
        centre.campaign("spring", "start")
        campaign = page.locator("#campaigns tbody tr[data-key=spring] td")
        expect(campaign.nth(2)).to_have_text("3")                                             # contacts
        expect(campaign.nth(3)).to_have_text("0%")                                            # progress
        size = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector("
                                   "'#queue-tiles [data-figure=waiting] .value')).fontSize)"))
        if screen is WALL:
            assert size >= 80, f"figures of {size}px cannot be read from 3 m"
            wall.shot("frontoffice-wallboard-wall.png")
        else:
            assert size >= 32
        wall.check_layout(f"wallboard at {screen['width']} px")
    finally:
        wall.close()


def test_waiting_wallboards_do_not_hold_the_threads_pages_are_served_from(supervisor_site, caruso_client, tmp_path):
    waiting = 45                                       # more than the 40 threads that serve pages
    with httpx.Client(base_url=supervisor_site, timeout=60) as web:
        sign_in(web, "sam")
        caruso_client.get("caruso.comm/1").flush()          # every event so far is in the log ...
        with sqlite3.connect(tmp_path / "comm.db") as log:
            last = log.execute("SELECT max(id) FROM comm_events").fetchone()[0]
        eventually(lambda: _monitor_health(caruso_client)["last_id"], lambda read: read == last)   # ... and read
        version = web.get("/supervisor/wallboard.json?since=-1").json()["version"]
        cookies = dict(web.cookies)

        def wait_for_news() -> int:
            with httpx.Client(base_url=supervisor_site, timeout=60, cookies=cookies) as board:
                return board.get(f"/supervisor/wallboard.json?since={version}").status_code

        with ThreadPoolExecutor(waiting) as pool:
            polls = [pool.submit(wait_for_news) for _ in range(waiting)]
            eventually(lambda: _monitor_health(caruso_client)["subscribers_waiting"], lambda n: n == waiting)
            assert web.get("/supervisor/campaigns").status_code == 200
            assert not any(poll.done() for poll in polls)    # the page did not wait for a wallboard
            caruso_client.get("caruso.comm/1").login("zoe", {}, {"voice": 1})    # news for all of them
            assert [poll.result() for poll in polls] == [200] * waiting
