"""A date and time stored with seconds (by a rule, a script, an import) can be changed in a
form to any minute in Chromium: a datetime-local input's step of a minute counts from the
value it shows, so without ``step="any"`` only times at that second were valid and the
browser refused to send the form. In a deployment's time zone, forms and pages show and take
its times, and the storage keeps UTC."""
from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from frontoffice_support import DESKTOP, Tab, host_vertical

pytestmark = pytest.mark.browser
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@contextlib.contextmanager
def order_edit(caruso_host, caruso_client, tmp_path, browser, shots, opened, respond_by, timezone="UTC"):
    """The service vertical hosted in ``timezone`` with one order (its times as stored) and
    a desktop tab signed in as sam; yields the storage, the order, the tab and the order's
    edit form."""
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, "service", timezone=timezone)
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Bakkerij Jansen"})
    order = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "No hot water",
                                                 "opened": opened, "respond_by": respond_by})
    tab = Tab(browser, url, DESKTOP, shots)
    try:
        tab.sign_in("sam").wait_for_url("**/")
        yield storage, order, tab, tab.open(f"/views/order-edit/edit?id={order['id']}")
    finally:
        tab.close()


def test_a_time_stored_with_seconds_can_be_changed_to_a_whole_minute(caruso_host, caruso_client, tmp_path, browser,
                                                                      shots):
    with order_edit(caruso_host, caruso_client, tmp_path, browser, shots,
                    "2026-12-06T00:55:46", "2026-12-07T00:55:46") as (storage, order, tab, page):
        page.fill("input[name=respond_by]", "2026-12-06T18:30")
        assert page.evaluate("document.querySelector('input[name=respond_by]').checkValidity()")
        page.click("button:has-text('Save')")
        page.wait_for_url(f"**/views/order/show?id={order['id']}")
        assert page.inner_text(".notice") == "Saved."
        assert tab.problems == []
    assert storage.get("FieldServiceOrder", order["id"])["respond_by"] == "2026-12-06T18:30:00"


def test_in_the_deployment_s_time_zone_a_form_shows_and_takes_its_times_and_the_storage_keeps_utc(
        caruso_host, caruso_client, tmp_path, browser, shots):
    with order_edit(caruso_host, caruso_client, tmp_path, browser, shots, "2026-12-06T00:55:00",
                    "2026-12-07T00:55:00", timezone="Europe/Amsterdam") as (storage, order, tab, page):
        assert page.input_value("input[name=respond_by]") == "2026-12-07T01:55"          # UTC+1 in December
        assert "(Europe/Amsterdam)" in page.inner_text("label:has(input[name=respond_by])")
        page.fill("input[name=respond_by]", "2026-12-06T18:30")
        page.click("button:has-text('Save')")
        page.wait_for_url(f"**/views/order/show?id={order['id']}")
        assert "2026-12-06 18:30" in page.inner_text("main") and "2026-12-06 01:55" in page.inner_text("main")
        before = dt.datetime.now(AMSTERDAM).replace(tzinfo=None, second=0, microsecond=0)
        opened = tab.open("/views/order-new/new").input_value("input[name=opened]")      # default="now"
        assert before <= dt.datetime.fromisoformat(opened) <= dt.datetime.now(AMSTERDAM).replace(tzinfo=None)
        assert tab.problems == []
    assert storage.get("FieldServiceOrder", order["id"])["respond_by"] == "2026-12-06T17:30:00"
