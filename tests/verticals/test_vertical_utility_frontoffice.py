"""The utility deployment's front office: its views over the utility model, with role rules."""
import contextlib
import re
from html import unescape

import httpx

from caruso_core.verticals import deployment_data
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.database import open_database
from caruso_frontoffice.passwords import Cost, Passwords
from caruso_utility.demo import generate, load

QUICK_COST = {"n": 2 ** 10}                  # the front office's password_cost: scrypt at 1 ms a hash


@contextlib.contextmanager
def signed_in(url, name, password):
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as web:
        csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/signin").text).group(1)
        assert web.post("/signin", data={"csrf": csrf, "name": name, "password": password}).status_code == 200
        yield web


def test_an_agent_sees_the_customer_360_but_not_the_bank_details(caruso_host, caruso_client, tmp_path):
    services = deployment_data(["utility"])["services"]
    caruso_host("storage", config={**services["storage"]["config"], "db": f"sqlite:///{tmp_path / 'u.db'}"})
    load(caruso_client.get("storage"), customers=5)
    db = f"sqlite:///{tmp_path / 'frontoffice.db'}"
    accounts = Accounts(open_database(db), Passwords(Cost(**QUICK_COST)))
    accounts.add("anna", "agent", "anna-password-1")
    accounts.add("sam", "supervisor", "sam-password-1")
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       "views": services["frontoffice"]["config"]["views"]})
    url = caruso_client.get("frontoffice").url()
    records = list(generate(5))
    customer = next(v for o, v in records if o == "Customer" and v["id"] == 2)
    eans = [v["ean"] for o, v in records if o == "Connection" and v["customer_id"] == 2]

    with signed_in(url, "anna", "anna-password-1") as agent:
        page = agent.get("/views/customer-360/show?id=2")
        assert page.status_code == 200
        title = unescape(re.search(r"<title>(.*?)</title>", page.text).group(1))       # tabs told apart
        assert title == f"{customer['customer_no']} · {customer['name']} · Customer 360 · caruso front office", title
        assert customer["name"] in page.text and all(ean in page.text for ean in eans)
        assert "Invoices" in page.text and "Service orders" in page.text
        assert customer["iban"] not in page.text
        assert customer["name"] in agent.get("/views/customers").text
        invoices = agent.get("/views/invoices").text                 # seen, not issued or settled by agents
        assert "Invoices" in invoices and "/views/invoice-new/new" not in invoices
        assert agent.get("/views/invoice-new/new").status_code == 403
        assert "New payment arrangement" not in page.text and "Contracts" in page.text
        meter = next(v for o, v in records if o == "Meter")                # a reading given on the phone
        form = agent.get("/views/reading-new/new").text
        saved = agent.post("/views/reading-new/new", data={
            "csrf": re.search(r'name="csrf" value="([^"]+)"', form).group(1),
            "_once": re.search(r'name="_once" value="([^"]+)"', form).group(1),
            "meter_id": meter["meter_no"].lower(), "read_on": "2026-12-01", "normal": "12345,5", "source": "customer"})
        assert saved.status_code == 200 and "Saved." in saved.text
        storage = caruso_client.get("storage")
        [reading] = storage.query("MeterReading", {"field": "normal", "op": "eq", "value": "12345.5"})
        assert (reading["meter_id"], reading["read_on"]) == (meter["id"], "2026-12-01")     # the key, typed as its number
        listed = agent.get("/views/readings").text                     # the newest first, by its meter number
        assert re.search(f'<tr><td><a href="/views/reading-new/edit\\?id={reading["id"]}">{meter["meter_no"]}</a></td>'
                         r'<td>2026-12-01</td><td>12.345\.5</td>', listed)
        # an opt-out of calls, recorded on the 360, is the Consent the campaigns read (no box that does nothing)
        assert "Marketing consent" not in page.text
        assert '/views/consent-edit/new?customer_id=2' in page.text.replace("&amp;", "&")
        for attempt in range(2):
            form = agent.get("/views/consent-edit/new", params={"customer_id": 2}).text
            recorded = agent.post("/views/consent-edit/new", data={
                "csrf": re.search(r'name="csrf" value="([^"]+)"', form).group(1),
                "_once": re.search(r'name="_once" value="([^"]+)"', form).group(1),
                "customer_id": customer["customer_no"], "channel": "phone", "opted_in": "", "source": "asked on a call"})
            assert recorded.status_code == (200, 409)[attempt], recorded.text[:300]
        [consent] = storage.query("Consent", {"field": "customer_id", "op": "eq", "value": 2})
        assert (consent["channel"], consent["opted_in"]) == ("phone", False)
        refusal = re.search(r'<span class="field-error"[^>]*>(.*?)</span>', recorded.text, re.S)
        assert refusal and "Another consent has this customer number and channel already" in refusal.group(1)
        assert f'href="/views/consent-edit/edit?id={consent["id"]}"' in refusal.group(1)     # change that one
        form = agent.get("/views/opportunity-edit/new", params={"customer_id": 2}).text   # the base's sales form
        assert "Customer number" in form and "Customer id" not in form
        assert re.search(f'name="customer_id"[^>]*value="{customer["customer_no"]}"', form), form
    with signed_in(url, "sam", "sam-password-1") as supervisor:
        assert customer["iban"] in supervisor.get("/views/customer-360/show?id=2").text
        assert "/views/invoice-new/new" in supervisor.get("/views/invoices").text
