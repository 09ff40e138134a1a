"""Sales and leads in a vertical, in Chromium at 1366 and 390 pixels: a lead is created in its
form, a second lead with the same e-mail is refused with the message beside the field and a
link to the first, and an opportunity is created from the customer 360 and opened from it."""
from __future__ import annotations

import pytest

from frontoffice_support import PHONE, Tab, host_vertical

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}


@pytest.fixture
def bank(caruso_host, caruso_client, tmp_path, browser, shots):
    """The bank vertical's storage (one customer) and front office; a supervisor's tabs."""
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, "bank")
    customer = storage.create("Customer", {"customer_no": "B-100", "name": "Nora Berg"})
    tabs = [Tab(browser, url, size, shots) for size in (WIDE, PHONE)]
    for tab in tabs:
        tab.sign_in("sam").wait_for_url("**/")
    yield storage, customer, tabs
    for tab in tabs:
        tab.close()


def fill_lead(page, name, email, phone, customer_no):
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=phone]", phone)
    page.fill("input[name=customer_id]", customer_no)      # the bank's forms take the customer's number
    page.click("button:has-text('Save')")
    page.wait_for_load_state()


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_a_duplicate_lead_is_refused_with_a_link_and_the_360_makes_an_opportunity(bank, size):
    storage, customer, (wide, phone) = bank
    tab = wide if size == "wide" else phone
    mail, number = ("nora.berg@example.com", "+47 22 12 34 56") if size == "wide" else \
        ("n.berg@example.org", "+47 900 11 222")

    page = tab.open("/views/lead-edit/new")
    fill_lead(page, "Nora Berg", mail, number, customer["customer_no"])
    [lead] = storage.query("Lead", {"field": "email", "op": "eq", "value": mail})
    page.wait_for_url(f"**/views/lead/show?id={lead['id']}")
    assert "Nora Berg" in page.inner_text("main")

    page = tab.open("/views/lead-edit/new")
    fill_lead(page, "N. Berg", "  " + mail.upper(), "+47 555 0000", customer["customer_no"])
    assert page.url.endswith("/views/lead-edit/new")
    tab.expected(400)
    refusal = page.locator("label:has(input[name=email]) .field-error")
    assert refusal.inner_text().startswith(f"Lead {lead['id']} (Nora Berg) has the same email already")
    tab.check_layout("lead form refusing a duplicate e-mail")
    tab.shot(f"frontoffice-lead-duplicate-{size}.png")
    assert storage.count("Lead", {"field": "name", "op": "eq", "value": "N. Berg"}) == 0
    refusal.locator("a").click()
    page.wait_for_url(f"**/views/lead/show?id={lead['id']}")
    assert mail in page.inner_text("main")

    page = tab.open(f"/views/customer-360/show?id={customer['id']}")
    assert "Nora Berg" in page.locator("section:has(h2:has-text('Leads'))").inner_text()
    page.click("p.actions >> text=New opportunity")
    page.wait_for_url("**/views/opportunity-edit/new?**")
    assert page.input_value("input[name=customer_id]") == customer["customer_no"]
    title = f"Mortgage for the flat ({size})"
    page.fill("input[name=title]", title)
    page.select_option("select[name=stage]", "qualification")
    page.fill("input[name=deal_size]", "250000")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"**/views/customer-360/show?id={customer['id']}")
    tab.check_layout("360 with a new opportunity")
    [opportunity] = storage.query("Opportunity", {"field": "title", "op": "eq", "value": title})
    assert (opportunity["customer_id"], opportunity["stage"], opportunity["deal_size"]) == \
        (customer["id"], "qualification", "250000.00")
    storage.create("Quote", {"opportunity_id": opportunity["id"], "amount": "248000", "valid_until": "2027-01-31"})
    page.click(f"text={title}")
    page.wait_for_url(f"**/views/opportunity/show?id={opportunity['id']}")
    assert "250\u202f000.00" in page.inner_text("main")                 # its thousands grouped
    quotes = page.locator("section.card:has(h2:text-is('Quotes'))")   # its related tables
    assert quotes.locator("th").all_inner_texts() == ["Amount", "Valid until", "Status"]
    assert quotes.locator("td a").first.inner_text() == "248\u202f000.00"
    assert page.locator("section.card:has(h2:text-is('Sales orders')) td").inner_text() == "No sales orders."
    tab.check_layout("opportunity record")
