"""Contract suite of ``caruso.customer-master/1``.

Fixtures the conformance module provides: ``service`` and ``known_customer`` (the full
record of one customer the master holds; its name at least three characters long).
"""
from __future__ import annotations

import pytest

from caruso_core import InvalidInput, NotFound
from caruso_core.testing import ContractSuite


class CustomerMasterContract(ContractSuite):
    interface = "caruso.customer-master/1"

    def test_get_returns_the_whole_record(self, service, known_customer):
        assert service.get(known_customer["customer_no"]) == known_customer

    def test_find_by_name_prefix_ignores_case(self, service, known_customer):
        prefix = known_customer["name"][:3].swapcase()
        found = service.find({"name": prefix})
        assert known_customer in found
        assert all(r["name"].casefold().startswith(prefix.casefold()) for r in found)

    def test_describe_names_the_key_and_counts(self, service, known_customer):
        described = service.describe()
        assert known_customer["customer_no"] is not None and described["key"] == "customer_no"
        assert described["records"] == service.count() >= 1
        assert {f["name"] for f in described["fields"]} >= set(known_customer)

    def test_unknown_customer_and_fields_are_clear_errors(self, service):
        with pytest.raises(NotFound):
            service.get(99999999)
        with pytest.raises(InvalidInput, match="unknown field"):
            service.find({"shoe_size": 44})

    def test_a_change_is_queued_not_applied(self, service, known_customer):
        key = known_customer["customer_no"]
        queued = service.change(key, {"phone": "0301234567"})
        assert queued["phone"] == "0301234567" and queued["customer_no"] == key
        assert service.pending_changes()[-1] == queued
        assert service.get(key) == known_customer

    def test_a_change_that_does_not_fit_is_refused(self, service, known_customer):
        before = service.pending_changes()
        with pytest.raises(InvalidInput, match="does not fit"):
            service.change(known_customer["customer_no"], {"phone": "9" * 40})
        assert service.pending_changes() == before
