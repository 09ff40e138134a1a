"""A small ERP that speaks XML-RPC, for demos and tests: orders, invoices, nothing else.

Its API (what :mod:`caruso_wrap_erp.service` wraps) is the kind an old ERP offers:

``order.create(struct) -> str``      order number; the same ``reference`` gives the same order
``order.get(order_no) -> struct``    fault 404 if unknown
``invoice.get(invoice_no) -> struct``
``invoice.search(customer) -> [struct]``
``invoice.pay(invoice_no, amount) -> struct``
``ping() -> "pong"``

Amounts are strings with two decimals; an order is invoiced at once. Run it with
``python -m caruso_wrap_erp.demo_erp [PORT]`` (127.0.0.1).
"""
from __future__ import annotations

import sys
import threading
import xmlrpc.client
from decimal import Decimal, InvalidOperation
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

NOT_FOUND, INVALID = 404, 400
MAX_REQUEST = 1 << 20


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/RPC2",)

    def do_POST(self) -> None:
        if int(self.headers.get("content-length") or 0) > MAX_REQUEST:
            self.send_error(413)
            return
        super().do_POST()

    def log_message(self, *args: Any) -> None:
        pass


class DemoErp:
    """The ERP's books, in memory."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self._by_reference: dict[str, str] = {}
        self._lock = threading.Lock()

    def create_order(self, order: dict[str, Any]) -> str:
        customer = order.get("customer")
        lines = order.get("lines")
        if not isinstance(customer, str) or not customer or not isinstance(lines, list) or not lines:
            raise xmlrpc.client.Fault(INVALID, "an order needs a customer and at least one line")
        total = Decimal("0.00")
        for line in lines:
            try:
                total += Decimal(str(line["price"])) * int(line["quantity"])
            except (KeyError, TypeError, ValueError, InvalidOperation):
                raise xmlrpc.client.Fault(INVALID, f"bad order line {line!r}") from None
        with self._lock:
            reference = str(order.get("reference") or "")
            if reference and reference in self._by_reference:
                return self._by_reference[reference]
            number = f"SO{len(self.orders) + 1:06d}"
            invoice = f"INV{len(self.invoices) + 1:06d}"
            self.orders[number] = {"order_no": number, "customer": customer, "lines": lines,
                                   "reference": reference, "status": "confirmed", "invoice_no": invoice,
                                   "total": f"{total:.2f}"}
            self.invoices[invoice] = {"invoice_no": invoice, "order_no": number, "customer": customer,
                                      "amount": f"{total:.2f}", "paid": "0.00", "status": "open"}
            if reference:
                self._by_reference[reference] = number
            return number

    def get_order(self, order_no: str) -> dict[str, Any]:
        return self._find(self.orders, order_no, "order")

    def get_invoice(self, invoice_no: str) -> dict[str, Any]:
        return self._find(self.invoices, invoice_no, "invoice")

    def search_invoices(self, customer: str) -> list[dict[str, Any]]:
        return [dict(i) for i in self.invoices.values() if i["customer"] == customer]

    def pay(self, invoice_no: str, amount: str) -> dict[str, Any]:
        with self._lock:
            invoice = self._find(self.invoices, invoice_no, "invoice", copy=False)
            paid = Decimal(invoice["paid"]) + Decimal(amount)
            invoice["paid"] = f"{paid:.2f}"
            invoice["status"] = "paid" if paid >= Decimal(invoice["amount"]) else "open"
            return dict(invoice)

    @staticmethod
    def _find(table: dict[str, dict[str, Any]], number: Any, what: str, copy: bool = True) -> dict[str, Any]:
        if not isinstance(number, str) or number not in table:
            raise xmlrpc.client.Fault(NOT_FOUND, f"no {what} {number!r}")
        return dict(table[number]) if copy else table[number]


def start(port: int = 0) -> tuple[SimpleXMLRPCServer, DemoErp, str]:
    """Serve a new demo ERP on 127.0.0.1 in a thread; returns (server, books, URL)."""
    books = DemoErp()
    server = SimpleXMLRPCServer(("127.0.0.1", port), requestHandler=_Handler, logRequests=False,
                                allow_none=False)
    for name, function in {"order.create": books.create_order, "order.get": books.get_order,
                           "invoice.get": books.get_invoice, "invoice.search": books.search_invoices,
                           "invoice.pay": books.pay, "ping": lambda: "pong"}.items():
        server.register_function(function, name)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, books, f"http://127.0.0.1:{server.server_address[1]}/RPC2"


if __name__ == "__main__":
    _server, _books, url = start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"demo ERP at {url}", flush=True)
    threading.Event().wait()
