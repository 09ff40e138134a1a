"""The legacy billing wrapper: interface ``caruso.billing/1`` over a storage instance that
maps the old billing database (``legacy_billing.xml``), so the wrapper holds no SQL.

Interface ``caruso.billing/1``:

``account(customer_no) -> dict``          ``{"customer_no", "name", "balance", "active", "direct_debit"}``
``open_items(customer_no) -> list[dict]`` unpaid items, oldest due first: ``{"invoice", "amount", "due"}``
``arrange(customer_no, instalments, first_due) -> dict``
    spread everything open over 2 to 12 instalments starting on ``first_due``
    (ISO date, not in the past); returns ``{"arrangement_no", "total", "instalments",
    "per_instalment", "first_due"}``. InvalidInput when nothing is open.
``arrangements(customer_no) -> list[dict]``

Amounts are decimal strings. Unknown customers are NotFound.

The wrapper finds its storage instance through the client of the host's ``context``
(outside a host: a standalone context for the manager the environment names).
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

from caruso_core import HostContext, InvalidInput, remote, service

MODEL = str(Path(__file__).with_name("legacy_billing.xml"))


@service(name="billing", interface="caruso.billing/1", version="1.0.0", requires=("caruso.storage/1",))
class LegacyBilling:
    def __init__(self, storage: str = "legacy-billing", context: HostContext | None = None) -> None:
        self.storage_name = storage
        self.context = context
        self.storage: Any = None

    def start(self) -> None:
        context = self.context or HostContext.standalone("billing")
        self.storage = context.client.get(self.storage_name)

    @remote
    def account(self, customer_no: int) -> dict[str, Any]:
        debtor = self.storage.get("Debtor", _number(customer_no))
        return {"customer_no": debtor["number"], "name": debtor["name"], "balance": debtor["balance"],
                "active": debtor["active"], "direct_debit": debtor["direct_debit"]}

    @remote
    def open_items(self, customer_no: int) -> list[dict[str, Any]]:
        number = self.account(customer_no)["customer_no"]
        items = self.storage.query("OpenItem", {"and": [{"field": "debtor", "op": "eq", "value": number},
                                                        {"field": "paid", "op": "eq", "value": False}]},
                                   order_by=["due", "sequence"], limit=1000)
        return [{"invoice": i["invoice"], "amount": i["amount"], "due": i["due"]} for i in items]

    @remote
    def arrange(self, customer_no: int, instalments: int, first_due: str) -> dict[str, Any]:
        if isinstance(instalments, bool) or not isinstance(instalments, int) or not 2 <= instalments <= 12:
            raise InvalidInput("instalments must be a whole number from 2 to 12")
        try:
            start = dt.date.fromisoformat(first_due)
        except (TypeError, ValueError):
            raise InvalidInput(f"first_due {first_due!r} is not a date YYYY-MM-DD") from None
        if start < dt.date.today():
            raise InvalidInput(f"first_due {first_due} is in the past")
        items = self.open_items(customer_no)
        if not items:
            raise InvalidInput(f"customer {customer_no} has nothing open to arrange")
        total = sum(Decimal(i["amount"]) for i in items)
        created = self.storage.create("Arrangement", {"debtor": _number(customer_no), "instalments": instalments,
                                                      "total": str(total), "first_due": start.isoformat()})
        return _arrangement(created)

    @remote
    def arrangements(self, customer_no: int) -> list[dict[str, Any]]:
        number = self.account(customer_no)["customer_no"]
        found = self.storage.query("Arrangement", {"field": "debtor", "op": "eq", "value": number},
                                   order_by=["number"], limit=1000)
        return [_arrangement(a) for a in found]

    def health(self) -> dict[str, Any]:
        if self.storage is None:
            return {"status": "failing", "error": "not started"}
        self.storage.count("Debtor")
        return {"status": "ok", "storage": self.storage_name}


def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(f"customer number {value!r} must be a whole number above 0")
    return value


def _arrangement(record: dict[str, Any]) -> dict[str, Any]:
    total = Decimal(record["total"])
    per = (total / record["instalments"]).quantize(Decimal("0.01"), rounding=ROUND_UP)
    return {"arrangement_no": record["number"], "total": record["total"], "instalments": record["instalments"],
            "per_instalment": str(per), "first_due": record["first_due"]}
