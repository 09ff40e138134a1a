"""A date and time stored with seconds (by a rule, a script, an import) can be changed in a
form to any minute in Chromium: a datetime-local input's step of a minute counts from the
value it shows, so without ``step="any"`` only times at that second were valid and the
browser refused to send the form."""
from __future__ import annotations

import pytest

from frontoffice_support import DESKTOP, Tab, host_vertical

pytestmark = pytest.mark.browser


def test_a_time_stored_with_seconds_can_be_changed_to_a_whole_minute(caruso_host, caruso_client, tmp_path, browser,
                                                                      shots):
    storage, url = host_vertical(caruso_host, caruso_client, tmp_path, "service")
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Bakkerij Jansen"})
    order = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "No hot water",
                                                 "opened": "2026-12-06T00:55:46", "respond_by": "2026-12-07T00:55:46"})
    tab = Tab(browser, url, DESKTOP, shots)
    try:
        tab.sign_in("sam").wait_for_url("**/")
        page = tab.open(f"/views/order-edit/edit?id={order['id']}")
        page.fill("input[name=respond_by]", "2026-12-06T18:30")
        assert page.evaluate("document.querySelector('input[name=respond_by]').checkValidity()")
        page.click("button:has-text('Save')")
        page.wait_for_url(f"**/views/order/show?id={order['id']}")
        assert page.inner_text(".notice") == "Saved."
        assert tab.problems == []
    finally:
        tab.close()
    assert storage.get("FieldServiceOrder", order["id"])["respond_by"] == "2026-12-06T18:30:00"
