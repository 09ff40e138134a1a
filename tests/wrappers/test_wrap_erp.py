"""The ERP wrapper against a real XML-RPC server, through a real host, passing the contract suite."""
import pytest

from caruso_core.testing import contract_suite, eventually
from caruso_wrap_erp import demo_erp


@pytest.fixture
def erp_server():
    server, books, url = demo_erp.start()
    yield books, url
    server.shutdown()
    server.server_close()


def _orders(books, count=1):
    """Wait until the ERP server has ``count`` sales orders (at most 30 s)."""
    eventually(lambda: len(books.orders), lambda placed: placed >= count, limit=30, what=f"{count} ERP order(s)")


@pytest.fixture
def erp_customer():
    return "CUST-0042"


class TestErpWrapper(contract_suite("caruso.erp/1")):
    @pytest.fixture
    def service(self, erp_server, caruso_host, caruso_client):
        caruso_host("erp", config={"url": erp_server[1]})
        return caruso_client.get("caruso.erp/1")


def test_payments_in_the_erp_show_in_the_invoice_status(erp_server, caruso_host, caruso_client):
    books, url = erp_server
    caruso_host("erp", config={"url": url})
    erp = caruso_client.get("caruso.erp/1")
    placed = erp.create_sales_order({"customer": "C7", "lines": [{"sku": "X", "quantity": 3, "price": "10"}]})
    books.pay(placed["invoice_no"], "12.50")
    assert erp.invoice_status(placed["invoice_no"])["amount_due"] == "17.50"
    books.pay(placed["invoice_no"], "17.50")
    assert erp.invoice_status(placed["invoice_no"])["status"] == "paid"


def test_an_unreachable_erp_is_reported_not_crashed(caruso_host, caruso_client):
    from caruso_core.testing.processes import free_port
    from caruso_wrap_erp.service import ErpUnavailable

    caruso_host("erp", config={"url": f"http://127.0.0.1:{free_port()}/RPC2", "timeout": 2})
    erp = caruso_client.get("erp")
    with pytest.raises(ErpUnavailable, match="does not answer"):
        erp.invoices("C1")
    assert caruso_client.health()[0]["health"]["status"] == "failing"


def test_a_won_opportunity_reaches_the_erp_as_a_sales_order(erp_server, caruso_host, caruso_client, tmp_path):
    """A business rule of the model calls the ERP wrapper through the manager when a deal is won."""
    from pathlib import Path

    books, url = erp_server
    caruso_host("erp", config={"url": url})
    model = Path(__file__).parent / "models" / "won_to_erp.xml"
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"name": "Gemeente Zwolle", "erp_no": "C-7001"})
    deal = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Smart meters",
                                          "deal_size": "60000", "erp_customer": "C-7001", "stage": "quote sent"})
    assert books.orders == {}
    storage.update("Opportunity", deal["id"], {"stage": "won"})
    _orders(books)
    [order] = books.orders.values()
    assert (order["customer"], order["reference"], order["total"]) == ("C-7001", f"opportunity-{deal['id']}", "60000.00")
    storage.update("Opportunity", deal["id"], {"title": "Smart meters, phase 1"})   # not a change to won
    other = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Meter reading",
                                           "deal_size": "100", "erp_customer": "C-7001", "stage": "quote sent"})
    storage.update("Opportunity", other["id"], {"stage": "won"})
    _orders(books, 2)                        # rule calls run in order: once the later one arrived ...
    assert sorted(o["reference"] for o in books.orders.values()) == [   # ... the title change made none
        f"opportunity-{deal['id']}", f"opportunity-{other['id']}"]


def test_an_accepted_quote_wins_the_deal_and_its_sales_order_reaches_the_erp(erp_server, caruso_host, caruso_client,
                                                                               tmp_path):
    """The generic sales module: quote sent, quote accepted, opportunity won, sales order, ERP order."""
    books, url = erp_server
    caruso_host("erp", config={"url": url})
    caruso_host("storage", config={"db": f"sqlite:///{tmp_path / 'crm.db'}"})   # the default model
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"name": "Waterschap Drents"})
    deal = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Pump monitoring",
                                          "stage": "RFP received"})
    quote = storage.create("Quote", {"opportunity_id": deal["id"], "amount": "18250.50", "status": "sent"})
    assert storage.get("Opportunity", deal["id"])["stage"] == "quote sent" and books.orders == {}
    storage.update("Quote", quote["id"], {"status": "accepted"})
    [order] = storage.related("Opportunity", deal["id"], "orders")
    _orders(books)
    [placed] = books.orders.values()
    assert (placed["customer"], placed["reference"], placed["total"]) == (
        f"CRM-{customer['id']}", f"sales-order-{order['id']}", "18250.50")
