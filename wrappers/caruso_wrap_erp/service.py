"""The ERP wrapper: interface ``caruso.erp/1`` over the ERP's XML-RPC API.

Interface ``caruso.erp/1``:

``create_sales_order(order) -> dict``
    ``order = {"customer": str, "reference": str (optional, e.g. the opportunity id;
    the same reference never makes a second order), "lines": [{"sku": str,
    "quantity": int > 0, "price": "decimal string"}]}``; returns ``{"order_no",
    "invoice_no", "status", "total"}``.
``order_won_opportunity(customer, reference, title, amount) -> dict``
    one order line for a won deal (sku ``DEAL``, the amount as its price), in flat
    arguments so that a business rule's ``call`` action can place it; the reference
    (e.g. ``opportunity-17``) makes it idempotent like any order.
``sales_order(order_no) -> dict``   the order as the ERP has it.
``invoice_status(invoice_no) -> dict``
    ``{"invoice_no", "order_no", "customer", "amount", "paid", "amount_due", "status"}``.
``invoices(customer) -> list[dict]``   the same, for every invoice of a customer.

Errors: :class:`InvalidInput` (refused order), :class:`NotFound` (unknown number),
:class:`ErpUnavailable` (the ERP does not answer). The ERP is a system inside the
company network; its replies are parsed by expat, which expands no external
entities and caps entity expansion.
"""
from __future__ import annotations

import http.client
import xmlrpc.client
from decimal import Decimal, InvalidOperation
from typing import Any

from caruso_core import CarusoError, InvalidInput, NotFound, remote, service

MAX_LINES = 500


class ErpUnavailable(CarusoError):
    """The ERP did not answer or answered with something that is not XML-RPC."""


@service(name="erp", interface="caruso.erp/1", version="1.0.0")
class ErpWrapper:
    def __init__(self, url: str = "http://127.0.0.1:8069/RPC2", timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    @remote
    def create_sales_order(self, order: dict[str, Any]) -> dict[str, Any]:
        checked = _checked_order(order)
        number = self._call("order.create", checked)
        placed = self._call("order.get", number)
        return {key: placed[key] for key in ("order_no", "invoice_no", "status", "total")}

    @remote
    def order_won_opportunity(self, customer: str, reference: str, title: str, amount: str) -> dict[str, Any]:
        placed = self.create_sales_order({"customer": customer, "reference": reference,
                                          "lines": [{"sku": "DEAL", "quantity": 1, "price": amount}]})
        return {**placed, "title": title}

    @remote
    def sales_order(self, order_no: str) -> dict[str, Any]:
        return self._call("order.get", _number(order_no, "order_no"))

    @remote
    def invoice_status(self, invoice_no: str) -> dict[str, Any]:
        return _invoice(self._call("invoice.get", _number(invoice_no, "invoice_no")))

    @remote
    def invoices(self, customer: str) -> list[dict[str, Any]]:
        return [_invoice(i) for i in self._call("invoice.search", _number(customer, "customer"))]

    def health(self) -> dict[str, Any]:
        try:
            self._call("ping")
        except ErpUnavailable as error:
            return {"status": "failing", "error": str(error)}
        return {"status": "ok", "erp": self.url}

    def _call(self, method: str, *args: Any) -> Any:
        proxy = xmlrpc.client.ServerProxy(self.url, allow_none=False)
        proxy("transport").timeout = self.timeout  # type: ignore[attr-defined]
        try:
            return getattr(proxy, method)(*args)
        except xmlrpc.client.Fault as fault:
            kind = {404: NotFound, 400: InvalidInput}.get(fault.faultCode, ErpUnavailable)
            raise kind(f"ERP: {fault.faultString}") from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError,
                xmlrpc.client.ResponseError) as error:
            raise ErpUnavailable(f"the ERP at {self.url} does not answer properly: {error}") from None
        finally:
            proxy("close")()


def _checked_order(order: Any) -> dict[str, Any]:
    if not isinstance(order, dict):
        raise InvalidInput("a sales order is a dict with customer and lines")
    customer = _number(order.get("customer"), "customer")
    lines = order.get("lines")
    if not isinstance(lines, list) or not 0 < len(lines) <= MAX_LINES:
        raise InvalidInput(f"a sales order needs 1 to {MAX_LINES} lines")
    checked_lines = []
    for index, line in enumerate(lines):
        where = f"line {index + 1}"
        if not isinstance(line, dict):
            raise InvalidInput(f"{where} is not a dict")
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise InvalidInput(f"{where}: quantity must be a whole number above 0")
        try:
            price = Decimal(str(line.get("price")))
        except InvalidOperation:
            raise InvalidInput(f"{where}: price {line.get('price')!r} is not a decimal") from None
        if not price.is_finite() or price < 0:
            raise InvalidInput(f"{where}: price must be 0 or more")
        checked_lines.append({"sku": _number(line.get("sku"), f"{where}: sku"), "quantity": quantity,
                              "price": f"{price:.2f}"})
    reference = order.get("reference")
    return {"customer": customer, "lines": checked_lines,
            "reference": "" if reference is None else _number(str(reference), "reference")}


def _number(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise InvalidInput(f"{what} must be a non-empty text of at most 64 characters")
    return value.strip()


def _invoice(raw: dict[str, Any]) -> dict[str, Any]:
    due = Decimal(raw["amount"]) - Decimal(raw["paid"])
    return {**{k: raw[k] for k in ("invoice_no", "order_no", "customer", "amount", "paid", "status")},
            "amount_due": f"{max(due, Decimal(0)):.2f}"}
