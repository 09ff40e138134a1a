"""The admin's Outbox page over HTTP, against a real storage host whose ERP call fails while the
ERP (the real wrapper, its XML-RPC demo ERP) is down: the row is listed with its attempts and
error, and "retry now" (CSRF-checked, admins only) sends it once the ERP is up."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from caruso_core.testing.processes import free_port
from caruso_core.testing.waiting import eventually
from caruso_frontoffice.app import create_app
from caruso_wrap_erp import demo_erp
from frontoffice_support import csrf_of, make_context, sign_in


@pytest.fixture
def erp_port(caruso_host):
    port = free_port()
    caruso_host("erp", config={"url": f"http://127.0.0.1:{port}/RPC2", "timeout": 2})
    return port


def test_the_outbox_page_lists_a_failed_erp_order_and_retries_it_when_asked(erp_port, caruso_host, caruso_client,
                                                                            caruso_manager, tmp_path):
    caruso_host("storage", config={"db": f"sqlite:///{tmp_path / 'crm.db'}",
                                   "outbox": {"attempts": 2, "backoff": 0.1}})
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"name": "Gemeente Zwolle"})
    deal = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Meters", "deal_size": "700"})
    storage.update("Opportunity", deal["id"], {"stage": "won"})
    [order] = storage.related("Opportunity", deal["id"], "orders")
    [row] = eventually(lambda: storage.outbox(state="failed"), what="the ERP order failed")
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri)), base_url="http://testserver") as web:
        sign_in(web, "ada")
        assert web.get("/admin/outbox").status_code == 403             # agents do not see it
        web.cookies.clear()
        sign_in(web, "root")
        page = web.get("/admin/outbox")
        assert page.status_code == 200 and 'href="/admin/outbox" aria-current="page">Outbox' in page.text
        listed = page.text.split(f'data-row="{row["id"]}" data-state="failed"')[1].split("</tr>")[0]
        assert "order_to_erp" in listed and f"SalesOrder {order['id']}" in listed
        assert f"<td>{row['at'][:19].replace('T', ' ')} UTC</td>" in listed           # written, to the second
        assert "caruso.erp/1 order_won_opportunity" in listed and "<td>2</td>" in listed
        assert "does not answer" in listed and "after 2 attempts" in listed and "Retry now" in listed
        refused = web.post("/admin/outbox/retry", data={"id": str(row["id"])})          # no CSRF token
        assert refused.status_code == 403 and storage.outbox()[0]["state"] == "failed"
        assert web.get("/admin/outbox?state=lost").status_code == 400
        assert "No pending call in the outbox." in web.get("/admin/outbox?state=pending").text
        server, books, _url = demo_erp.start(erp_port)
        try:
            failed = web.get("/admin/outbox?state=failed").text                # retried from the filtered page
            assert '<input type="hidden" name="state" value="failed">' in failed
            retried = web.post("/admin/outbox/retry", data={"csrf": csrf_of(page.text), "id": str(row["id"]),
                                                             "state": "failed"}, follow_redirects=False)
            assert retried.status_code == 303 and retried.headers["location"] == "/admin/outbox?state=failed"
            assert f"Outbox row {row['id']} (caruso.erp/1 order_won_opportunity) is pending again" \
                in web.get(retried.headers["location"]).text
            number = eventually(lambda: storage.get("SalesOrder", order["id"])["erp_order_no"])
            assert [placed["order_no"] for placed in books.orders.values()] == [number]
            delivered = web.get("/admin/outbox?state=delivered").text
            assert f'data-row="{row["id"]}" data-state="delivered"' in delivered and "Retry now" not in delivered
            again = web.post("/admin/outbox/retry", data={"csrf": csrf_of(page.text), "id": str(row["id"]),
                                                           "state": "<b>" + "x" * 5000})      # a filter of none
            assert again.status_code == 409 and "is delivered: only a failed row is retried" in again.text
            assert "x" * 100 not in again.text and "<b>" not in again.text
        finally:
            server.shutdown()
            server.server_close()
