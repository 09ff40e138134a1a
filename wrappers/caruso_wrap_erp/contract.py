"""Contract suite of ``caruso.erp/1``: what any ERP wrapper must do.

Fixtures the conformance module provides: ``service`` (the wrapper, usually a client
proxy) and ``erp_customer`` (a customer number the ERP accepts orders for).
"""
from __future__ import annotations

import pytest

from caruso_core import InvalidInput, NotFound
from caruso_core.testing import ContractSuite


class ErpContract(ContractSuite):
    interface = "caruso.erp/1"

    def order(self, customer, reference=None):
        return {"customer": customer, "reference": reference,
                "lines": [{"sku": "METER-SMART", "quantity": 2, "price": "99.50"},
                          {"sku": "INSTALL", "quantity": 1, "price": "45.00"}]}

    def test_a_sales_order_is_placed_and_invoiced(self, service, erp_customer):
        placed = service.create_sales_order(self.order(erp_customer))
        assert placed["total"] == "244.00"
        assert service.sales_order(placed["order_no"])["customer"] == erp_customer
        invoice = service.invoice_status(placed["invoice_no"])
        assert invoice["amount"] == "244.00" and invoice["amount_due"] == "244.00"
        assert invoice["order_no"] == placed["order_no"]
        assert placed["invoice_no"] in [i["invoice_no"] for i in service.invoices(erp_customer)]

    def test_the_same_reference_never_orders_twice(self, service, erp_customer):
        first = service.create_sales_order(self.order(erp_customer, reference="opportunity-17"))
        again = service.create_sales_order(self.order(erp_customer, reference="opportunity-17"))
        assert again["order_no"] == first["order_no"]

    def test_a_won_opportunity_becomes_one_order(self, service, erp_customer):
        placed = service.order_won_opportunity(erp_customer, "opportunity-42", "Smart meters", "60000.00")
        again = service.order_won_opportunity(erp_customer, "opportunity-42", "Smart meters", "60000.00")
        assert again["order_no"] == placed["order_no"] and placed["total"] == "60000.00"
        assert service.sales_order(placed["order_no"])["lines"][0]["sku"] == "DEAL"

    @pytest.mark.parametrize("bad", [
        {"customer": "", "lines": [{"sku": "A", "quantity": 1, "price": "1"}]},
        {"customer": "C1", "lines": []},
        {"customer": "C1", "lines": [{"sku": "A", "quantity": 0, "price": "1"}]},
        {"customer": "C1", "lines": [{"sku": "A", "quantity": 1, "price": "ten"}]},
        {"customer": "C1", "lines": [{"sku": "A", "quantity": 1, "price": "-3"}]},
        "not an order",
    ])
    def test_bad_orders_are_refused_with_a_clear_error(self, service, bad):
        with pytest.raises(InvalidInput):
            service.create_sales_order(bad)

    def test_unknown_numbers_are_not_found(self, service):
        with pytest.raises(NotFound):
            service.sales_order("SO999999")
        with pytest.raises(NotFound):
            service.invoice_status("INV999999")
