"""The supervisor's analytics page over a real manager, storage (SQLite) and analytics
service holding a small synthetic history: train, see the model's figures, segment, see
the lead thresholds and the forecast with its chart, score, and find the risk and its
factors in a customer's 360, in Chromium; roles, CSRF, bad input and a missing service
refused with one line."""
import html
import re
import shutil
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from frontoffice_support import DESKTOP, PHONE, QUICK_COST, add_users, csrf_of, make_context, sign_in, Tab

sys.path.insert(0, str(Path(__file__).parent.parent / "analytics"))      # the analytics tests' model and loader
from analytics_support import MODEL, SOURCE, stored  # noqa: E402

VIEWS = [str(Path(__file__).parent / "views" / "churn.xml")]
CUSTOMERS = 1_000


@pytest.fixture(scope="module")
def stored_history(tmp_path_factory):
    return stored(tmp_path_factory.mktemp("history"), CUSTOMERS, seed=2)[0]


@pytest.fixture
def hosted(caruso_host, caruso_client, stored_history, tmp_path):
    """Storage with a synthetic history ending today (a copy of one loaded once a module) and
    the analytics service over it; the storage's and the analytics service's proxies."""
    shutil.copy(stored_history, tmp_path / "crm.db")
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    caruso_host("analytics", config={"source": SOURCE, "models_file": str(tmp_path / "models.json"),
                                     "at_risk": 0.1})
    return storage, caruso_client.get("caruso.analytics/1")


@pytest.fixture
def solution(hosted, caruso_host, caruso_client, tmp_path):
    """The ``hosted`` services and a served front office with the churn views; the storage's
    proxy and the site's URL."""
    db = f"sqlite:///{tmp_path / 'served.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                       "address": "http://127.0.0.1:0", "db": db, "views": VIEWS})
    return hosted[0], caruso_client.get("frontoffice").url()


@pytest.fixture
def history(hosted, caruso_manager, tmp_path):
    """The ``hosted`` services and the front office in-process; its client and the analytics proxy."""
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri, views=VIEWS)),
                    base_url="http://testserver") as client:
        yield client, hosted[1]


@pytest.fixture
def web(caruso_manager, tmp_path):
    """The front office in-process, with no analytics service in the deployment."""
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri, views=VIEWS)),
                    base_url="http://testserver") as client:
        yield client


PAGES = ["/supervisor/analytics", "/supervisor/analytics/forecast.png"]


@pytest.mark.parametrize("path", PAGES)
def test_agents_and_visitors_are_refused(web, path):
    assert web.get(path, follow_redirects=False).headers["location"].startswith("/signin?next=")
    sign_in(web, "ada")
    assert web.get(path).status_code == 403
    assert web.post("/supervisor/analytics", data={"csrf": csrf_of(web.get("/").text), "action": "train"}
                    ).status_code == 403


def test_a_deployment_without_the_analytics_service_is_told_so_in_one_line(web):
    sign_in(web, "sam")
    page = web.get("/supervisor/analytics")
    assert page.status_code == 200 and "This deployment does not run the analytics service" in page.text
    assert 'href="/supervisor/analytics" aria-current="page"' in page.text and 'value="train"' not in page.text
    csrf = csrf_of(page.text)
    assert web.post("/supervisor/analytics", data={"action": "train"}).status_code == 403
    refused = web.post("/supervisor/analytics", data={"csrf": csrf, "action": "<drop>"})
    assert refused.status_code == 400 and "Analytics action &#39;&lt;drop&gt;&#39;: use train, score" in refused.text
    failed = web.post("/supervisor/analytics", data={"csrf": csrf, "action": "train"})
    assert failed.status_code == 503 and "Training did not work. This deployment does not run the analytics " \
        "service (caruso.analytics/1)" in failed.text and "no instance of" not in failed.text
    chart = web.get("/supervisor/analytics/forecast.png")
    assert chart.status_code == 503 and chart.headers["content-type"].startswith("text/plain")


def test_an_analytics_service_that_fails_is_shown_as_not_answering(caruso_host, web, tmp_path):
    broken = tmp_path / "models.json"
    broken.write_text("<html>")
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    caruso_host("analytics", config={"source": SOURCE, "models_file": str(broken)})
    sign_in(web, "sam")
    page = web.get("/supervisor/analytics")
    assert page.status_code == 503 and "The analytics service did not answer" in page.text
    assert "not a file of analytics models" in page.text


@pytest.fixture
def empty(caruso_host, tmp_path):
    """Storage and analytics service over a history with nothing in it."""
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    caruso_host("analytics", config={"source": SOURCE, "models_file": str(tmp_path / "models.json")})


def test_with_no_history_each_figure_says_why_it_is_missing(empty, web):
    sign_in(web, "sam")
    page = web.get("/supervisor/analytics")
    assert page.status_code == 200 and "No churn model yet: train one." in page.text
    assert "No customer has a segment yet" in page.text
    assert "0 settled leads with 0 conversions are too few" in page.text
    assert "fewer than 10 won opportunities" in page.text
    scored = web.post("/supervisor/analytics", data={"csrf": csrf_of(page.text), "action": "score"})
    assert scored.status_code == 404 and "Scoring did not work: no churn model yet" in scored.text


@pytest.mark.parametrize("query", ["months=1000", "months=6&level=0.999", "level=%3Cb%3E"])
def test_forecast_choices_outside_the_offered_ones_are_refused(empty, web, query):
    sign_in(web, "sam")
    page = web.get(f"/supervisor/analytics?{query}")
    assert page.status_code == 400 and "Forecast: months one of 3, 6, 12, 24" in page.text
    assert "<b>" not in page.text
    chart = web.get(f"/supervisor/analytics/forecast.png?{query}")
    assert chart.status_code == 400 and chart.text.startswith("Forecast: months one of")


def _act(web, action, **fields):
    """Post the analytics form's button ``action`` (with ``fields``); not followed."""
    csrf = csrf_of(web.get("/").text)
    return web.post("/supervisor/analytics", data={"csrf": csrf, "action": action, **fields}, follow_redirects=False)


def _notice(page):
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', page, re.S)
    return found and html.unescape(found.group(1))


def _segment_rows(page, method):
    """The segments of the table of the last segmentation by ``method``: name, customers."""
    table = re.search(rf'<table class="figures" id="segments-{method}">(.*?)</table>', page, re.S)
    assert table, page[:300]
    return {name: int(count) for name, count in re.findall(
        r'<tr data-segment="([^"]+)"><td>[^<]*</td><td class="n">(\d+)</td>', table.group(1))}


def test_train_score_and_segment_redirect_to_the_page_which_shows_what_they_did(history):
    web, analytics = history
    sign_in(web, "sam")
    trained = _act(web, "train")
    assert trained.status_code == 303 and trained.headers["location"] == "/supervisor/analytics"
    page = web.get("/supervisor/analytics").text
    assert _notice(page).startswith("Model version 1 trained") and 'data-version="1"' in page
    again = web.get("/supervisor/analytics").text                      # a reload shows the page, trains nothing
    assert _notice(again) is None and 'data-version="1"' in again and len(analytics.models()) == 1

    assert _act(web, "score").status_code == 303
    last = analytics.last_runs()["score"]
    said = (f"{last['customers']:,} customers scored with model version 1: {last['at_risk']:,} at risk "
            f"(a probability of 10% or more)")
    assert _notice(web.get("/supervisor/analytics").text).startswith(said)
    scoring = re.search(r'<p id="last-scoring">(.*?)</p>', web.get("/supervisor/analytics").text, re.S)
    assert scoring and said in html.unescape(scoring.group(1))

    segmented = _act(web, "rfm", months="3", level="0.9")             # the forecast chosen is kept
    assert segmented.status_code == 303 and segmented.headers["location"] == "/supervisor/analytics?months=3&level=0.9"
    page = web.get(segmented.headers["location"]).text
    run = analytics.last_runs()["rfm"]
    assert _notice(page).startswith(f"{run['customers']:,} customers segmented (rfm)")
    assert '<option value="3" selected>' in page and len(re.findall(r'<tr data-month=', page)) == 3
    expected = {row["segment"]: row["customers"] for row in run["summary"]}
    assert _segment_rows(page, "rfm") == expected and "Mean " in page
    reloaded = web.get(segmented.headers["location"]).text            # still shown, not segmented again
    assert _notice(reloaded) is None and _segment_rows(reloaded, "rfm") == expected
    assert analytics.last_runs()["rfm"]["at"] == run["at"]


def test_attack_analytics_forms_malformed_oversized_or_with_a_replayed_notice(history):
    web, analytics = history
    sign_in(web, "sam")
    for fields in ({"months": "1000"}, {"level": "<b>0.8</b>"}, {"months": "6" * 5_000, "level": "0.8"}):
        refused = _act(web, "train", **fields)
        assert refused.status_code == 400 and "Forecast: months one of 3, 6, 12, 24" in refused.text, fields
        assert "<b>0.8" not in refused.text and "6" * 100 not in refused.text
    oversized = _act(web, "train" + "x" * 70_000)
    assert oversized.status_code == 413
    assert analytics.models() == []                                    # nothing ran
    refused = _act(web, "score", months="12", level="0.95")             # no model yet: the page, the reason, the choice
    assert refused.status_code == 404 and "Scoring did not work: no churn model yet" in refused.text
    assert '<option value="12" selected>' in refused.text and '<option value="0.95" selected>' in refused.text
    assert '<input type="hidden" name="months" value="12">' in refused.text

    done = _act(web, "rfm")
    notice = done.cookies.get("caruso_notice")
    assert done.status_code == 303 and notice
    with TestClient(web.app, base_url="http://testserver") as other:     # another browser replays the cookie
        sign_in(other, "sam")
        other.cookies["caruso_notice"] = notice
        assert _notice(other.get("/supervisor/analytics").text) is None
    assert _notice(web.get("/supervisor/analytics").text).endswith("customers' stored segment changed.")


@pytest.mark.browser
def test_a_supervisor_trains_segments_forecasts_and_scores_and_an_agent_sees_the_risk(browser, solution, shots,
                                                                                       caruso_client):
    """In Chromium: train, score, segment and forecast, a reload or Back after an action
    running nothing again (the page was redirected to); an agent then sees the risk and its
    factors in the riskiest customer's 360."""
    storage, site = solution
    analytics = caruso_client.get("caruso.analytics/1")
    tab = Tab(browser, site, DESKTOP, shots)
    try:
        page = tab.sign_in("sam")
        page.wait_for_url("**/")
        page.click("nav >> text=Analytics")
        page.wait_for_url("**/supervisor/analytics")
        expect(page.locator("#churn-models")).to_contain_text("No churn model yet")
        expect(page.locator("button[value=score]")).to_be_disabled()

        page.click("button[value=train]", no_wait_after=True)      # the page answers when done: the expect waits
        expect(page.locator(".notice")).to_contain_text("Model version 1 trained", timeout=120_000)
        assert page.url.endswith("/supervisor/analytics")
        tab.check_layout("analytics after training")
        page.reload()                                               # the redirected page: nothing sent again
        expect(page.locator(".notice")).to_have_count(0)
        expect(page.locator("#churn-models tbody tr")).to_have_count(1)
        assert [model["version"] for model in analytics.models()] == [1]
        version = page.locator("#churn-models tbody tr[data-version='1'] td").all_inner_texts()
        auc, baseline = float(version[3]), float(version[4])
        assert auc > 0.7 and auc > baseline
        expect(page.locator("#model-in-words")).to_contain_text(f"ranked the leaver riskier {auc:.0%} of the time")

        page.click("button[value=score]", no_wait_after=True)      # the page answers when done: the expect waits
        expect(page.locator(".notice")).to_contain_text("customers scored with model version 1", timeout=120_000)
        assert "do not act on its scores" not in page.locator("#model-in-words").inner_text()
        page.click("button[value=rfm]", no_wait_after=True)      # the page answers when done: the expect waits
        expect(page.locator(".notice")).to_contain_text("customers segmented (rfm)", timeout=120_000)
        tab.shot("frontoffice-analytics.png")
        segmented = analytics.last_runs()["rfm"]["at"]
        page.reload()
        expect(page.locator(".notice")).to_have_count(0)
        page.go_back()                                              # Back: the page before, nothing sent again
        page.wait_for_load_state()
        page.go_forward()
        page.wait_for_load_state()
        assert [model["version"] for model in analytics.models()] == [1]
        assert analytics.last_runs()["rfm"]["at"] == segmented
        segments = {row.get_attribute("data-segment"): int(row.locator("td").nth(1).inner_text())
                    for row in page.locator("#segments-rfm tbody tr").all()}
        assert "champions" in segments and sum(segments.values()) > CUSTOMERS // 2
        for name, count in segments.items():
            assert storage.count("Customer", {"field": "rfm_segment", "op": "eq", "value": name}) == count

        hot = float(page.locator("[data-threshold=hot]").inner_text())
        warm = float(page.locator("[data-threshold=warm]").inner_text())
        assert hot > warm
        months = page.locator("#forecast-months tbody tr[data-month]")
        expect(months).to_have_count(6)
        page.select_option("select[name=months]", "3")
        with page.expect_response(lambda response: "/forecast.png?months=3" in response.url) as drawn:
            page.click("#forecast button[type=submit]")
        assert drawn.value.status == 200 and drawn.value.headers["content-type"] == "image/png"
        expect(months).to_have_count(3)
        assert {row.get_attribute("data-segment"): int(row.locator("td").nth(1).inner_text())
                for row in page.locator("#segments-rfm tbody tr").all()} == segments     # the last run, on a new visit
        expect(page.locator("#forecast-chart")).to_be_visible()
        assert page.evaluate("document.getElementById('forecast-chart').naturalWidth") > 300
        tab.check_layout("analytics with a 3-month forecast")

        page.set_viewport_size(PHONE)
        tab.check_layout("analytics at 390 px")
        page.set_viewport_size(DESKTOP)
        page.evaluate("""() => { window.sent = [];     // forms the page would send, kept from the server
            window.addEventListener("submit", (e) => {
                if (!e.defaultPrevented) { window.sent.push(e.submitter.value); e.preventDefault(); } }); }""")
        page.click("button[value=train]")
        expect(page.locator("#analytics-progress")).to_have_text(re.compile("^Training a churn model"))
        page.click("button[value=rfm]")                    # while busy: nothing more is sent
        assert page.evaluate("window.sent") == ["train"]
        riskiest = storage.query("Customer", None, ["-churn_risk"], 1)[0]
        assert riskiest["churn_risk"] > 0.1 and riskiest["churn_factors"]

        page = tab.open(f"/views/customer-360/show?id={riskiest['id']}")
        profile = page.locator("main")
        expect(profile).to_contain_text(f"{riskiest['churn_risk']:.1%}")
        expect(profile).to_contain_text(riskiest["churn_factors"])
        tab.check_layout("the riskiest customer's 360")
        tab.shot("frontoffice-churn-360.png")
        page.set_viewport_size(PHONE)
        tab.check_layout("the riskiest customer's 360 at 390 px")
    finally:
        tab.close()
