"""Contract suite of ``caruso.billing/1``.

Fixtures the conformance module provides: ``service``, ``indebted_customer`` (a
customer number with open items) and ``settled_customer`` (one with nothing open).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caruso_core import InvalidInput, NotFound
from caruso_core.testing import ContractSuite


class BillingContract(ContractSuite):
    interface = "caruso.billing/1"

    def test_account_of_a_customer(self, service, indebted_customer):
        account = service.account(indebted_customer)
        assert account["customer_no"] == indebted_customer
        assert set(account) == {"customer_no", "name", "balance", "active", "direct_debit"}
        Decimal(account["balance"])

    def test_open_items_oldest_first(self, service, indebted_customer, settled_customer):
        items = service.open_items(indebted_customer)
        assert items and [i["due"] for i in items] == sorted(i["due"] for i in items)
        assert service.open_items(settled_customer) == []

    def test_an_arrangement_spreads_everything_open(self, service, indebted_customer):
        first_due = (dt.date.today() + dt.timedelta(days=14)).isoformat()
        total = sum(Decimal(i["amount"]) for i in service.open_items(indebted_customer))
        made = service.arrange(indebted_customer, 3, first_due)
        assert Decimal(made["total"]) == total and made["instalments"] == 3
        assert Decimal(made["per_instalment"]) * 3 >= total > Decimal(made["per_instalment"]) * 2
        assert made in service.arrangements(indebted_customer)

    def test_refusals(self, service, indebted_customer, settled_customer):
        soon = (dt.date.today() + dt.timedelta(days=7)).isoformat()
        with pytest.raises(InvalidInput, match="nothing open"):
            service.arrange(settled_customer, 3, soon)
        with pytest.raises(InvalidInput, match="2 to 12"):
            service.arrange(indebted_customer, 40, soon)
        with pytest.raises(InvalidInput, match="in the past"):
            service.arrange(indebted_customer, 3, "2001-01-01")
        with pytest.raises(NotFound):
            service.account(99999)
