"""The ERP hand-off through the storage's outbox: a real storage host, the real ERP wrapper and
its XML-RPC demo ERP, which is down until the test starts it on the port the wrapper knows."""
from __future__ import annotations

import pytest

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_core.testing.processes import free_port
from caruso_core.testing.waiting import eventually
from caruso_wrap_erp import demo_erp

FAST = {"backoff": 0.1, "backoff_max": 0.4, "lease": 2}


@pytest.fixture
def erp(caruso_host):
    """The ERP wrapper pointing at a port where the ERP is not up yet; ``up()`` starts it there."""
    port = free_port()
    caruso_host("erp", config={"url": f"http://127.0.0.1:{port}/RPC2", "timeout": 2})
    servers = []

    class Erp:
        books = None

        def up(self):
            server, self.books, _url = demo_erp.start(port)
            servers.append(server)
            return self.books

    yield Erp()
    for server in servers:
        server.shutdown()
        server.server_close()


def storage_config(tmp_path, **outbox):
    return {"db": f"sqlite:///{tmp_path / 'crm.db'}", "outbox": {**FAST, **outbox}}


def win(storage, amount="18250.50"):
    """A won deal (the default model's sales module): returns its sales order."""
    customer = storage.create("Customer", {"name": "Waterschap Drents"})
    deal = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Pump monitoring",
                                          "deal_size": amount})
    storage.update("Opportunity", deal["id"], {"stage": "won"})
    [order] = storage.related("Opportunity", deal["id"], "orders")
    return order


def test_an_order_won_while_the_erp_is_down_is_placed_once_it_is_up_and_its_number_written_back(
        erp, caruso_host, caruso_client, tmp_path):
    caruso_host("storage", config=storage_config(tmp_path))
    storage = caruso_client.get("caruso.storage/1")
    order = win(storage)
    [row] = storage.outbox()
    assert (row["rule"], row["object"], row["key"], row["interface"], row["method"], row["result_to"]) == (
        "order_to_erp", "SalesOrder", order["id"], "caruso.erp/1", "order_won_opportunity", "erp_order_no=order_no")
    rising = eventually(lambda: storage.outbox()[0], lambda row: row["attempts"] >= 3, what="attempts rising")
    assert rising["state"] == "pending" and "does not answer" in rising["last_error"] and rising["next_try"]
    assert storage.get("SalesOrder", order["id"])["erp_order_no"] is None
    books = erp.up()
    delivered = eventually(lambda: storage.outbox()[0], lambda row: row["state"] == "delivered")
    [placed] = books.orders.values()
    assert (placed["reference"], placed["total"]) == (f"sales-order-{order['id']}", "18250.50")
    assert storage.get("SalesOrder", order["id"])["erp_order_no"] == placed["order_no"]
    assert delivered["done_at"] and delivered["attempts"] >= rising["attempts"]
    second = win(storage, "99.00")                  # with the ERP up: at once, and once
    eventually(lambda: storage.get("SalesOrder", second["id"])["erp_order_no"])
    assert len(books.orders) == 2 and [row["state"] for row in storage.outbox()] == ["delivered"] * 2


def test_a_rolled_back_change_leaves_nothing_in_the_outbox(erp, caruso_host, caruso_client, tmp_path):
    caruso_host("storage", config=storage_config(tmp_path))
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"name": "Gemeente Zwolle"})
    with pytest.raises(InvalidInput):
        storage.apply([{"op": "create", "object": "Opportunity",
                        "values": {"customer_id": customer["id"], "title": "Meters", "deal_size": "500",
                                   "stage": "won"}},
                       {"op": "create", "object": "Opportunity", "values": {"title": "no customer"}}])
    assert storage.query("SalesOrder") == [] and storage.outbox() == []
    books = erp.up()
    win(storage)                                    # the committed one is sent, the rolled-back one never
    eventually(lambda: storage.outbox()[0]["state"] == "delivered")
    assert len(books.orders) == 1


def test_refused_calls_fail_at_once_exhausted_ones_after_their_attempts_and_retry_on_demand(
        erp, caruso_host, caruso_client, tmp_path):
    caruso_host("storage", config=storage_config(tmp_path, attempts=3))
    storage = caruso_client.get("caruso.storage/1")
    exhausted = win(storage)
    failed = eventually(lambda: storage.outbox()[0], lambda row: row["state"] == "failed")
    assert failed["attempts"] == 3 and failed["last_error"].endswith("(after 3 attempts)")
    books = erp.up()
    customer = storage.create("Customer", {"name": "Waterschap Drents"})   # a credit: deals are 0 or more
    refused = storage.create("SalesOrder", {"customer_id": customer["id"], "title": "Credit", "amount": "-5.00"})
    # the ERP refuses a negative price: no retry can help
    row = eventually(lambda: storage.outbox()[0], lambda row: row["state"] == "failed")
    assert row["key"] == refused["id"] and row["attempts"] == 1 and "price must be 0 or more" in row["last_error"]
    with pytest.raises(NotFound, match="the outbox has no row 999"):
        storage.retry_outbox(999)
    pending_again = storage.retry_outbox(failed["id"])
    assert (pending_again["state"], pending_again["attempts"]) == ("pending", 0)
    eventually(lambda: storage.get("SalesOrder", exhausted["id"])["erp_order_no"])
    assert [o["reference"] for o in books.orders.values()] == [f"sales-order-{exhausted['id']}"]
    with pytest.raises(Conflict, match=f"outbox row {failed['id']} is delivered: only a failed row is retried"):
        storage.retry_outbox(failed["id"])


def test_a_pending_call_of_a_killed_storage_is_delivered_after_its_restart(erp, caruso_host, caruso_client,
                                                                          tmp_path):
    config = storage_config(tmp_path)
    killed = caruso_host("storage", process=True, config=config)
    storage = caruso_client.get("storage")
    order = win(storage)
    eventually(lambda: storage.outbox()[0]["attempts"] >= 2, what="attempts while the ERP is down")
    killed.kill()                                   # SIGKILL: nothing is flushed or handed over
    books = erp.up()
    caruso_host("storage", config=config)
    eventually(lambda: books.orders, what="the order placed after the restart")
    [placed] = books.orders.values()
    restarted = caruso_client.get("storage")
    number = eventually(lambda: restarted.get("SalesOrder", order["id"])["erp_order_no"])
    assert number == placed["order_no"] and restarted.outbox()[0]["state"] == "delivered"


def test_an_order_whose_sales_order_is_gone_is_placed_but_its_row_fails_naming_the_write_back(
        erp, caruso_host, caruso_client, tmp_path):
    caruso_host("storage", config=storage_config(tmp_path))
    storage = caruso_client.get("caruso.storage/1")
    order = win(storage)
    storage.delete("SalesOrder", order["id"])           # while the ERP is down
    books = erp.up()
    row = eventually(lambda: storage.outbox()[0], lambda row: row["state"] == "failed")
    assert row["last_error"].startswith("delivered, but writing the result back failed: ")
    assert "SalesOrder" in row["last_error"] and len(books.orders) == 1
