"""The front office in headless Chromium: every page loads without console errors and
fits 1280x800 and a 390-pixel-wide phone; the pictures of docs/frontoffice.md.

Screenshots are taken only with ``CARUSO_SCREENSHOTS=docs/img``: they replace the ones
of the documentation.
"""
import re

import pytest

from caruso_core import credentials
from caruso_core.testing.waiting import eventually

from frontoffice_support import DESKTOP, PHONE, Tab

pytestmark = pytest.mark.browser


def test_admin_pages_at_desktop_size(tab, storage, caruso_host, caruso_client):
    standby = caruso_host("storage", version="1.0.1", standby=True)
    desk = tab()
    page = desk.sign_in("root", "not-the-password")
    assert page.locator(".error").inner_text() == "Wrong name or password."
    desk.expected(401)
    page = desk.sign_in("root")
    page.wait_for_url("**/")
    desk.check_layout("home")
    page = desk.open("/admin/services")
    assert page.locator("section.service h2").all_inner_texts() == ["frontoffice", "storage"]
    assert page.locator(".health.ok").count() == 3
    row = page.locator(f"tr:has-text('{standby.instance_id}')")
    row.locator("input[name=operator_secret]").fill(credentials.operator_secret())
    row.locator("text=Activate").click()
    page.wait_for_selector(".notice")
    assert f"{standby.instance_id} (version 1.0.1) is active" in page.inner_text(".notice")
    assert caruso_client.lookup("storage")[0]["instance_id"] == standby.instance_id
    desk.check_layout("services after the swap")
    assert page.locator("button:has-text('Roll back')").count() == 1
    desk.shot("frontoffice-services.png")
    assert page.url.endswith("/admin/services")          # the swap answered with a redirect to the page:
    page.reload()                                        # a reload shows it again and repeats nothing
    assert page.locator(".notice").count() == 0 and page.locator("button:has-text('Roll back')").count() == 1
    page = desk.open("/admin/users")
    assert page.locator("tbody tr").count() == 3
    page.click("form.signout button")
    page.wait_for_url("**/signin")
    assert page.locator("input[name=name]").is_visible()
    desk.shot("frontoffice-signin.png")


def test_agent_pages_at_desktop_size(tab, storage):
    storage.add_contact("Customer", 1, {"channel": "phone", "summary": "Asked why the bill doubled", "agent": "ada"})
    storage.add_contact("Customer", 1, {"channel": "email", "direction": "outbound",
                                        "summary": "Sent the meter reading photo", "agent": "ada"})
    desk = tab()
    page = desk.sign_in("ada")
    page.wait_for_url("**/")
    desk.check_layout("home")
    page.click("nav >> text=Customers")
    page.wait_for_url("**/views/customers")
    desk.check_layout("customers")
    assert page.locator("tbody tr").count() == 2
    page.fill("input[name=q]", "acme")
    page.click("text=Find")
    page.wait_for_url("**q=acme**")
    assert page.locator("tbody tr").count() == 1
    desk.shot("frontoffice-list.png")
    page.click("tbody a")
    page.wait_for_url("**/views/customer-360/show?id=1")
    desk.check_layout("customer 360")
    assert "Smart meters" in page.inner_text("main") and "Carl Meier" in page.inner_text("main")
    assert page.locator("ol.history li").count() == 2
    desk.shot("frontoffice-customer360.png")
    page = desk.open("/views/customer-edit/edit?id=2")
    page.fill("input[name=name]", "<img src=x onerror=alert(1)>")
    page.evaluate("""() => {                   // what a crafted request could send
        document.querySelector('form.record').noValidate = true;
        const created = document.querySelector('input[name=created]');
        created.type = 'text';
        created.value = '30.02.2026 10:00';
    }""")
    page.click("button:has-text('Save')")
    page.wait_for_selector(".field-error")                  # beside the field it is about
    assert page.locator("label:has(input[name=created]) .field-error").inner_text() == (
        "A date and time like 2026-03-31T14:30, please")
    assert page.locator("ul.error").count() == 0
    desk.expected(400)
    desk.check_layout("form with errors")
    desk.shot("frontoffice-form.png")
    page.fill("input[name=created]", "2026-02-28T09:30")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/views/customer/show?id=2")
    assert page.locator("dd").first.inner_text() == "<img src=x onerror=alert(1)>"   # shown as text
    desk.check_layout("detail")
    assert desk.open("/admin/services", 403).locator(".error").is_visible()


def test_phone_layout(tab, storage):
    phone = tab(PHONE)
    page = phone.sign_in("sam")
    page.wait_for_url("**/")
    phone.check_layout("home")
    for path in ("/views/customers", "/views/tasks", "/views/opportunities", "/views/contacts",
                 "/views/customer/show?id=1", "/views/customer-edit/edit?id=1", "/views/customer-edit/new"):
        phone.open(path)
    page = phone.open("/views/customer-360/show?id=1")
    assert "+49 30 1234567" in page.inner_text("main")     # supervisors see phone numbers
    phone.shot("frontoffice-phone.png")
    admin = tab(PHONE)
    admin.sign_in("root").wait_for_url("**/")
    storage.create("Opportunity", {"customer_id": 1, "title": "Won deal", "deal_size": "10", "stage": "won"})
    eventually(lambda: storage.outbox()[0]["attempts"], what="the ERP order tried (no ERP is running)")
    for path in ("/admin/services", "/admin/users", "/admin/outbox"):
        admin.open(path)
    assert "order_won_opportunity" in admin.page.inner_text("main")          # a pending row fits the phone too


def test_first_run_admin_in_the_browser(browser, caruso_host, tmp_path, shots):
    host = caruso_host("frontoffice", config={"address": "http://127.0.0.1:0", "db": f"sqlite:///{tmp_path / 'new.db'}"},
                       process=True)
    [link] = [found.group(0) for line in host.output if (found := re.search(r"http\S+/setup\?token=\S+", line))]
    desk = Tab(browser, link.split("/setup")[0], DESKTOP, shots)
    try:
        page = desk.open("/signin")
        assert "No user exists yet" in page.inner_text("main")
        desk.open("/setup?token=wrong", 404)
        page = desk.open(link)
        page.fill("input[name=name]", "boss")
        page.fill("input[name=password]", "boss-password-1")
        page.fill("input[name=repeat]", "boss-password-1")
        desk.shot("frontoffice-setup.png")
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/services")
        desk.check_layout("services after set-up")
        assert "boss · admin" in page.inner_text("header")
        desk.open(link, 404)
    finally:
        desk.close()
