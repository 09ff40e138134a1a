"""Acting where one looks, in Chromium at 1366 and 390 pixels, over the verticals' views:
the customer 360's buttons (edit, new task with the customer filled in, a note), related
rows that open their record, lists sorted by a column with paging that keeps the sort,
CSV export of what the list shows, the knowledge base opening its articles."""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlsplit

import pytest

from caruso_frontoffice.widgets import GROUP
from caruso_utility.demo import load
from frontoffice_support import PHONE, Tab, host_vertical

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}


def office(name, caruso_host, caruso_client, tmp_path, browser, shots):
    """The vertical's storage and front office; a supervisor's tabs at 1366 and 390 pixels."""
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, name)
    tabs = [Tab(browser, url, size, shots) for size in (WIDE, PHONE)]
    for tab in tabs:
        tab.sign_in("sam").wait_for_url("**/")
    return storage, tabs


@pytest.fixture
def utility(caruso_host, caruso_client, tmp_path, browser, shots):
    storage, tabs = office("utility", caruso_host, caruso_client, tmp_path, browser, shots)
    load(storage, customers=30)
    yield storage, tabs
    for tab in tabs:
        tab.close()


def names_shown(page):
    return page.locator("tbody tr td:nth-child(2)").all_inner_texts()


def test_lists_sort_by_a_column_page_with_the_sort_and_export_what_they_show(utility):
    storage, (wide, phone) = utility
    names = sorted(c["name"] for c in storage.query("Customer", None, None, 100))
    page = wide.open("/views/customers")
    page.click("thead >> text=Name")
    page.wait_for_url("**sort=name**")
    assert names_shown(page) == names[:25]
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Name")
    page.click(".pager >> text=next")
    page.wait_for_url("**page=2**")
    assert "sort=name" in page.url and names_shown(page) == names[25:]
    wide.check_layout("customers, page 2 by name")
    page.click("thead >> text=Name")                      # again: descending, from page 1
    page.wait_for_url("**sort=-name**")
    assert names_shown(page) == names[::-1][:25]
    exported = page.request.get("/views/customers/export.csv?sort=-name")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.body().decode("utf-8-sig"))))
    assert rows[0] == ["Customer number", "Name", "Postcode", "City", "Phone"]
    assert [row[1] for row in rows[1:]] == names[::-1]
    page.fill("input[name=q]", names[3][:6])
    page.click("text=Find")
    page.wait_for_url("**q=**")
    assert "sort=-name" in page.url and names[3] in names_shown(page)
    shown = urlsplit(page.url)
    phone.open(f"{shown.path}?{shown.query}")


def test_the_customer_360_acts_and_opens_related_records(utility):
    storage, (wide, phone) = utility
    customer = storage.get("Customer", 2)
    page = wide.open("/views/customer-360/show?id=2")
    assert page.locator("p.actions a").all_inner_texts() == [
        "Edit", "New task", "New activity", "New opportunity", "New service order", "New payment arrangement",
        "Record consent"]                                                                            # a supervisor's
    page.click("p.actions >> text=New task")
    page.wait_for_url("**/views/task-edit/new?**")
    assert page.input_value("input[name=customer_id]") == customer["customer_no"]     # typed by its number
    page.fill("input[name=subject]", "Call back about the meter")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/views/customer-360/show?id=2")
    assert page.inner_text(".notice") == "Saved."
    wide.check_layout("360 after a new task")
    page.go_back()                                      # Back to the form the browser fills in again, Save
    page.wait_for_url("**/views/task-edit/new?**")
    assert page.input_value("input[name=subject]") == "Call back about the meter"
    page.click("button:has-text('Save')")
    page.wait_for_url("**/views/customer-360/show?id=2")   # to the page of the first save: no second task
    assert page.inner_text(".notice") == "This form was saved already: here is the record it made."
    [task] = storage.query("Task", {"and": [{"field": "customer_id", "op": "eq", "value": 2},
                                            {"field": "subject", "op": "eq", "value": "Call back about the meter"}]})
    page.click("text=Call back about the meter")
    page.wait_for_url(f"**/views/task-edit/edit?id={task['id']}")
    assert page.input_value("input[name=subject]") == "Call back about the meter"
    page = wide.open("/views/customer-360/show?id=2")
    [invoice] = storage.query("Invoice", {"field": "customer_id", "op": "eq", "value": 2}, None, 1)
    page.click(f"text={invoice['invoice_no']}")
    page.wait_for_url(f"**/views/invoice/show?id={invoice['id']}")
    payments = "section.card:has(h2:text-is('Payments'))"          # the invoice's related table
    assert page.locator(f"{payments} th").all_inner_texts() == ["Paid on", "Amount", "Method"]   # no invoice column
    some = storage.query("Payment", None, None, 1)[0]
    paid = storage.query("Payment", {"field": "invoice_id", "op": "eq", "value": some["invoice_id"]})
    page = wide.open(f"/views/invoice/show?id={some['invoice_id']}")
    rows = page.locator(f"{payments} tbody tr").all_inner_texts()
    shown = [re.sub(r"\s+", " ", row.replace(GROUP, "")) for row in rows]
    assert shown == [f"{p['paid_on']} {p['amount']} {p['method']}" for p in paid] and paid
    page = wide.open("/views/customer-360/show?id=2")
    [connection, *_] = storage.query("Connection", {"field": "customer_id", "op": "eq", "value": 2}, ["ean"])
    page.click(f"text={connection['ean']}")             # a list without a detail view: its form, for supervisors
    page.wait_for_url(f"**/views/connection-edit/edit?id={connection['id']}")
    assert page.input_value("input[name=ean]") == connection["ean"]
    page = wide.open("/views/customer-360/show?id=2")
    page.fill("textarea[name=note]", "   ")                # blank: the browser's required check lets it pass
    page.click("text=Save note")
    page.wait_for_selector("#note-error")
    wide.expected(400)
    assert page.inner_text("#note-error") == "The note is empty: type what to keep."
    assert "/views/customer-360/note?id=2" in page.url and page.locator("ol.history").count() == 1   # the 360
    page.fill("textarea[name=note]", "Prefers e-mail\u0007 after 5 pm")
    page.click("text=Save note")
    page.wait_for_selector("#note-error:has-text('no control characters')")
    wide.expected(400)
    assert page.input_value("textarea[name=note]") == "Prefers e-mail\u0007 after 5 pm"     # given back
    wide.check_layout("a note refused")
    assert all(entry["channel"] != "note" for entry in storage.contact_history("Customer", 2))   # none added
    page.fill("textarea[name=note]", "Prefers e-mail after 5 pm\nRef. " + "0123456789" * 30)
    page.click("text=Save note")
    page.wait_for_url("**/views/customer-360/show?id=2")
    assert page.inner_text(".notice") == "Note added."
    shown = page.locator("ol.history li").first.inner_text()     # its lines kept, its long word wrapped
    assert "note · sam\n" in shown and "Prefers e-mail after 5 pm\nRef. 0123" in shown
    when = page.locator("ol.history li time").first
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", when.inner_text())         # not raw ISO 8601
    assert when.get_attribute("datetime").startswith(when.inner_text()[:10] + "T")
    assert storage.contact_history("Customer", 2)[0]["agent"] == "sam"
    page.click("p.actions >> text=Edit")
    page.wait_for_url("**/views/customer-edit/edit?id=2")
    assert page.input_value("input[name=name]") == customer["name"]
    for path in ("/views/customer-360/show?id=2", "/views/task-edit/new?customer_id=2",
                 "/views/invoices", f"/views/invoice/show?id={invoice['id']}"):
        phone.open(path)
    wide.open("/views/customer-360/show?id=2")
    wide.shot("frontoffice-customer360-actions.png")
    phone.open("/views/customer-360/show?id=2")
    phone.shot("frontoffice-customer360-phone.png")


def test_the_knowledge_base_opens_its_articles(caruso_host, caruso_client, tmp_path, browser, shots):
    storage, (wide, phone) = office("service", caruso_host, caruso_client, tmp_path, browser, shots)
    try:
        article = storage.create("KnowledgeArticle", {"question": "Does the boiler need a yearly service?",
                                                      "answer": "Yes, once a year.", "status": "published"})
        page = wide.open("/views/knowledge")
        page.click("text=Does the boiler need a yearly service?")
        page.wait_for_url(f"**/views/article/show?id={article['id']}")
        assert "Yes, once a year." in page.inner_text("main")
        phone.open(f"/views/article/show?id={article['id']}")
    finally:
        for tab in (wide, phone):
            tab.close()
