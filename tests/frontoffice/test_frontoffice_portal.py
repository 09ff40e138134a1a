"""The self-service portal over a real manager and a real scripts service: published
scripts only, anonymous and identified customers, friendly validation messages,
customers kept out of internal pages; in Chromium on a 390-pixel-wide phone."""
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from starlette.testclient import TestClient

from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.verticals import installed
from caruso_frontoffice.app import create_app
from caruso_frontoffice.views.catalog import load
from frontoffice_support import QUICK_COST, accounts_of, add_users, csrf_of, make_context, sign_in, Tab

HERE = Path(__file__).parent / "portal"
PUBLISHED = ["callback", "meter"]
CUSTOMER = ("cora", "cora-secret-1")
SMALL_PHONE = {"width": 390, "height": 800}


@pytest.fixture
def scripts(caruso_host, tmp_path):
    caruso_host("scripts", config={"scripts": [str(HERE / f"{name}.xml") for name in ("callback", "meter", "internal")],
                                   "db": f"sqlite:///{tmp_path / 'scripts.db'}"})


def _accounts(db):
    add_users(db)
    accounts = accounts_of(db)
    accounts.add(CUSTOMER[0], "customer", CUSTOMER[1], "customer_id=7")
    return accounts


@pytest.fixture
def web(scripts, caruso_manager, tmp_path):
    context = attrs.evolve(make_context(tmp_path, caruso_manager.uri, users=False), self_service=tuple(PUBLISHED))
    _accounts(f"sqlite:///{tmp_path / 'frontoffice.db'}")
    with TestClient(create_app(context), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def portal(scripts, caruso_host, caruso_client, tmp_path):
    db = f"sqlite:///{tmp_path / 'portal.db'}"
    _accounts(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                       "address": "http://127.0.0.1:0", "db": db, "self_service": PUBLISHED})
    return caruso_client.get("frontoffice").url()


def _start(web, script):
    csrf = csrf_of(web.get("/portal").text)
    return web.post(f"/portal/start/{script}", data={"csrf": csrf}, follow_redirects=False)


def test_only_published_scripts_are_listed_and_started(web):
    page = web.get("/portal")
    assert page.status_code == 200
    assert "Call me back" in page.text and "Meter reading" in page.text and "Agents only" not in page.text
    assert _start(web, "internal").status_code == 404
    assert _start(web, "nope").status_code == 404
    started = _start(web, "callback")
    assert started.status_code == 303 and started.headers["location"].startswith("/portal/s/")
    step = web.get(started.headers["location"])
    assert "Your name?" in step.text and 'name="csrf"' in step.text


def test_a_form_without_the_csrf_token_is_refused(web):
    web.get("/portal")
    assert web.post("/portal/start/callback", data={}).status_code == 403
    session = _start(web, "callback").headers["location"]
    assert web.post(session, data={"seq": "0", "answer": "Ann"}).status_code == 403
    assert web.post(session, data={"seq": "0", "answer": "Ann", "csrf": "forged"}).status_code == 403
    assert "Your name?" in web.get(session).text                   # nothing was answered


def test_bad_answers_get_a_friendly_message_and_html_is_escaped(web):
    session = _start(web, "callback").headers["location"]
    csrf = csrf_of(web.get(session).text)
    too_long = web.post(session, data={"csrf": csrf, "seq": "0", "answer": "<script>x</script>" * 3})
    assert too_long.status_code == 422
    assert "The answer is too long (at most 30 characters)." in too_long.text
    assert "<script>x" not in too_long.text and "&lt;script&gt;x" in too_long.text
    empty = web.post(session, data={"csrf": csrf, "seq": "0", "answer": " "})
    assert empty.status_code == 422 and "Please answer this question." in empty.text
    web.post(session, data={"csrf": csrf, "seq": "0", "answer": "<b>Ann</b>"})
    page = web.get(session)
    assert "What is it about, &lt;b&gt;Ann&lt;/b&gt;?" in page.text
    stale = web.post(session, data={"csrf": csrf, "seq": "0", "answer": "Bo"})
    assert stale.status_code == 409 and "The page was out of date" in stale.text
    assert web.get("/portal/s/not-a-session").status_code == 404
    assert web.get("/portal/s/" + "0" * 32).status_code == 404


def test_a_customers_dialog_has_their_key_as_context_and_stays_theirs(web, caruso_client):
    assert sign_in(web, *CUSTOMER).headers["location"] == "/"
    assert web.get("/", follow_redirects=False).headers["location"] == "/portal"
    session = _start(web, "meter").headers["location"]
    engine = caruso_client.get("caruso.scripts/1")
    assert engine.current(session.rsplit("/", 1)[1])["context"] == {"customer_id": 7, "channel": "web"}
    step = web.get(session).text
    assert "<legend>Your meter reading, customer 7?</legend>" in step
    assert 'placeholder="12.5" inputmode="decimal"' in step          # the portal's own form for a number
    web.cookies.clear()                                             # an anonymous visitor with the link
    assert web.get(session).status_code == 404
    assert "Your meter reading, customer ?" in web.get(_start(web, "meter").headers["location"]).text


@pytest.mark.parametrize("path", ["/views/customers", "/views/customer/show?id=1", "/desk", "/admin/services",
                                  "/admin/users", "/supervisor", "/supervisor/reports",
                                  "/supervisor/campaigns", "/supervisor/wallboard.json"])
def test_customers_never_reach_internal_pages(web, path):
    sign_in(web, *CUSTOMER)
    refused = web.get(path, follow_redirects=False)
    assert refused.status_code == 403
    assert "Your role does not give access to this page." in refused.text


def test_a_customer_account_needs_a_well_formed_customer_key(tmp_path):
    accounts = accounts_of(f"sqlite:///{tmp_path / 'a.db'}")
    with pytest.raises(InvalidInput, match="a customer account needs its customer key"):
        accounts.add("carl", "customer", "carl-secret-1")
    with pytest.raises(InvalidInput, match="only a customer account has one"):
        accounts.add("carl", "agent", "carl-secret-1", "customer_id=1")
    with pytest.raises(InvalidInput, match="write it as name=value pairs"):
        accounts.add("carl", "customer", "carl-secret-1", "customer_id=1; drop table")
    created = accounts.add("carl", "customer", "carl-secret-1", "customer_id=12, contract=AB-7")
    assert accounts.authenticate("carl", "carl-secret-1").customer == {"customer_id": 12, "contract": "AB-7"}
    accounts.remove("carl")
    assert accounts.get(created.id) is None


@pytest.mark.browser
def test_customers_complete_a_script_on_a_phone(browser, portal, shots):
    phone = Tab(browser, portal, SMALL_PHONE, shots)
    try:
        page = phone.open("/portal")
        page.click("button:has-text('Call me back')")
        page.wait_for_url("**/portal/s/**")
        phone.check_layout("first step")
        page.fill("input[name=answer]", "Ann")
        page.click("button:has-text('Next')")
        page.wait_for_selector("text=What is it about, Ann?")
        page.check("input[value=bill]")
        page.click("button:has-text('Next')")
        page.wait_for_selector("text=In how many minutes?")
        page.fill("input[name=answer]", "500")
        page.click("button:has-text('Next')")
        page.wait_for_selector("[role=alert]")
        assert "at most 120" in page.inner_text("[role=alert]")
        phone.expected(422)
        phone.check_layout("rejected answer")
        phone.shot("frontoffice-portal-phone.png")
        page.fill("input[name=answer]", "15")
        page.click("button:has-text('Next')")
        page.wait_for_selector("text=We call Ann back in 15 minutes.")
        phone.check_layout("end")
        page = phone.sign_in(*CUSTOMER)
        page.wait_for_url("**/portal")
        phone.check_layout("portal signed in")
        assert "Signed in as cora" in page.inner_text("main")
        page.click("button:has-text('Meter reading')")
        page.wait_for_selector("text=Your meter reading, customer 7?")
        page.fill("input[name=answer]", "48213")
        page.click("button:has-text('Next')")
        page.wait_for_selector("text=Your monthly advance from now on?")
        assert page.get_attribute("input[name=answer]", "placeholder") == "120.50 EUR"
        page.fill("input[name=answer]", "$55")                    # the script's amounts are in euros
        phone.expected(422)
        page.click("button:has-text('Next')")
        page.wait_for_selector("text=This amount is in EUR: please enter it in EUR.")
        page.fill("input[name=answer]", "55 EUR")
        page.click("button:has-text('Next')")
        page.wait_for_selector("text=Thank you, customer 7: we noted 48213, advance 55.00.")
        phone.check_layout("customer's end")
        phone.open("/views/customers", 403)
    finally:
        phone.close()


def test_view_files_cannot_open_views_to_customers(tmp_path):
    views = tmp_path / "views.xml"
    views.write_text('<?xml version="1.0"?>\n<views>\n  <list id="all" object="Customer" title="All" roles="customer">\n'
                     '    <column field="name"/>\n  </list>\n</views>\n')
    with pytest.raises(ConfigError, match="views.xml:3"):
        load([str(views)])


def test_anyone_reports_an_outage_through_the_utility_verticals_portal(caruso_host, caruso_client, caruso_manager,
                                                                     tmp_path):
    settings = installed()["utility"].service_settings()
    caruso_host("storage", config={**settings["storage"]["config"], "db": f"sqlite:///{tmp_path / 'u.db'}"})
    caruso_host("scripts", config={**settings["scripts"]["config"], "db": f"sqlite:///{tmp_path / 's.db'}"})
    context = attrs.evolve(make_context(tmp_path, caruso_manager.uri),
                           self_service=tuple(settings["frontoffice"]["config"]["self_service"]))
    with TestClient(create_app(context), base_url="http://testserver") as web:
        assert "Outage report" in web.get("/portal").text and "Payment arrangement" not in web.get("/portal").text
        session = _start(web, "outage_report").headers["location"]
        for answer in ("electricity", "1234", "street", "3", "yes"):
            page = web.get(session)
            seq = re.search(r'name="seq" value="(\d+)"', page.text).group(1)
            assert web.post(session, data={"csrf": csrf_of(page.text), "seq": seq, "answer": answer},
                            follow_redirects=False).status_code == 303, (answer, page.text)
    [report] = caruso_client.get("caruso.storage/1").query("OutageReport", None)
    assert (report["postcode"], report["commodity"]) == ("1234", "electricity")


def test_the_front_office_loads_only_the_sdk_of_the_script_engine():
    loaded = subprocess.run([sys.executable, "-c", "import sys, caruso_frontoffice.service; "
                             "print(sorted(m for m in sys.modules if m.startswith('caruso_scripts')))"],
                            capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['caruso_scripts', 'caruso_scripts.client']"


def test_a_fault_report_needs_a_signed_in_customer_in_the_service_verticals_portal(caruso_host, caruso_client,
                                                                                  caruso_manager, tmp_path):
    settings = installed()["service"].service_settings()
    caruso_host("storage", config={**settings["storage"]["config"], "db": f"sqlite:///{tmp_path / 's.db'}"})
    caruso_host("scripts", config={**settings["scripts"]["config"], "db": f"sqlite:///{tmp_path / 'd.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    hotel = storage.create("Customer", {"customer_no": "S-7", "name": "Hotel De Zon"})
    storage.create("Installation", {"customer_id": hotel["id"], "serial_no": "HB-2291", "product": "Boiler HB 30",
                                    "installed": "2025-06-01"})
    context = attrs.evolve(make_context(tmp_path, caruso_manager.uri),
                           self_service=tuple(settings["frontoffice"]["config"]["self_service"]))
    context.accounts.add("hotel", "customer", "hotel-secret-1", "customer_no=S-7")     # keyed by its number
    with TestClient(create_app(context), base_url="http://testserver") as web:
        listed = web.get("/portal").text                 # offered to anonymous visitors as a sign-in
        assert 'action="/portal/start/report_fault"' not in listed
        assert re.search(r'<a class="button secondary" href="/signin\?next=/portal">[^<]+</a>\s*'
                         r'<p class="hint">For customers with an account: sign in first.</p>', listed), listed
        refused = _start(web, "report_fault")
        assert refused.status_code == 403 and "please sign in first" in refused.text
        assert '<a href="/signin?next=/portal">Sign in</a>' in refused.text
        sign_in(web, "hotel", "hotel-secret-1")
        assert 'action="/portal/start/report_fault"' in web.get("/portal").text
        session = _start(web, "report_fault").headers["location"]

        def post(**fields):
            page = web.get(session)
            seq = re.search(r'name="seq" value="(\d+)"', page.text).group(1)
            assert web.post(session, data={"csrf": csrf_of(page.text), "seq": seq, **fields},
                            follow_redirects=False).status_code == 303, (fields, page.text)
        post(), post(answer="HB-2291"), post(back="1")
        assert 'name="answer" value="HB-2291"' in web.get(session).text      # Back shows the answer again
        for answer in ("HB-2291", None, "no", "no hot water", None, "yes"):
            post(**({"answer": answer} if answer else {}))
        assert "the field service order is open" in web.get(session).text
        assert "Back</button>" not in web.get(session).text                 # nothing to take back after it
    [order] = storage.query("FieldServiceOrder", None)
    assert (order["customer_id"], order["priority"]) == (hotel["id"], "high")
