"""Helpers of the analytics tests (imported by name: conftest modules of several test
folders would shadow each other): a synthetic history loaded into a storage service."""
from __future__ import annotations

import datetime
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from caruso_analytics import synthetic
from caruso_analytics.history import KIND_CODES, STAGES, History
from caruso_core import remote, service
from caruso_core.errors import Unavailable

MODEL = Path(__file__).with_name("analytics_model.xml")
SOURCE = {
    "customers": {"object": "Customer", "key": "id", "joined": "created", "left": "cancelled"},
    "events": [
        {"kind": "contact", "object": "Interaction", "at": "at",
         "where": {"field": "outcome", "op": "eq", "value": "solved"}},
        {"kind": "failed_contact", "object": "Interaction", "at": "at",
         "where": {"field": "outcome", "op": "eq", "value": "failed"}},
        {"kind": "complaint", "object": "Complaint", "at": "received", "value": "resolved"},
        {"kind": "sla_breach", "object": "ServiceOrder", "at": "opened",
         "where": {"field": "status", "op": "eq", "value": "sla-breached"}},
        {"kind": "invoice", "object": "Invoice", "at": "issued", "value": "amount"},
        {"kind": "price_rise", "object": "PriceChange", "at": "effective", "value": "rise"},
    ],
    "opportunities": {"object": "Deal", "key": "id", "customer": "customer_id", "amount": "amount",
                      "created": "created"},
    "stage_changes": {"object": "DealStage", "opportunity": "deal_id", "stage": "stage", "at": "at"},
    "leads": {"object": "Prospect", "score": "score", "created": "created", "converted": "converted"},
}


def ending_today(history: History) -> History:
    """``history`` with its origin moved so that its last day is today."""
    history.origin = (datetime.date.today() - datetime.timedelta(days=int(history.now))).isoformat()
    return history


def _dates(history: History, days: np.ndarray) -> list[str | None]:
    stamps = np.datetime64(history.origin) + np.floor(np.nan_to_num(days, nan=0, posinf=0)).astype("timedelta64[D]")
    return [None if not np.isfinite(d) else str(s) for d, s in zip(days, stamps)]


def stored(folder: Path, customers: int, seed: int) -> tuple[Path, History]:
    """A SQLite file of analytics_model.xml in ``folder`` holding a synthetic history of
    ``customers`` ending today, written by an in-process storage (tests host copies of it:
    loading takes seconds), and the history."""
    from caruso_storage.service import StorageManager

    history = ending_today(synthetic.generate(customers, seed=seed))
    path = folder / "history.db"
    storage = StorageManager(model=str(MODEL), db=f"sqlite:///{path}")
    try:
        load(storage, history)
    finally:
        storage.stop()
    if path.with_name(path.name + "-wal").exists():      # a copy of the file alone would miss rows
        raise RuntimeError(f"{path}: the storage left its write-ahead log behind")
    return path, history


def load(storage: Any, history: History) -> None:
    """Write ``history`` into the storage of analytics_model.xml (customers get keys 1..n)."""
    def apply(object: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 20_000):
            storage.apply(json.dumps([{"op": "create", "object": object, "values": row}
                                      for row in rows[start:start + 20_000]]), "count")

    since, until = _dates(history, history.joined), _dates(history, history.left)
    apply("Customer", [{"name": f"customer {key}", "created": since[n], "cancelled": until[n]}
                       for n, key in enumerate(history.customer_ids.tolist())])
    events = history.events
    at, owner = _dates(history, events.time), (events.customer + 1).tolist()
    resolved = _dates(history, events.value)

    def of(kind: str) -> np.ndarray:
        return np.flatnonzero(events.kind == KIND_CODES[kind])

    apply("Interaction", [{"customer_id": owner[i], "at": at[i], "outcome": "solved"} for i in of("contact")]
          + [{"customer_id": owner[i], "at": at[i], "outcome": "failed"} for i in of("failed_contact")])
    apply("Complaint", [{"customer_id": owner[i], "received": at[i], "resolved": resolved[i]} for i in of("complaint")])
    apply("ServiceOrder", [{"customer_id": owner[i], "opened": at[i], "status": "sla-breached"}
                           for i in of("sla_breach")])
    apply("Invoice", [{"customer_id": owner[i], "issued": at[i], "amount": str(events.value[i])} for i in of("invoice")])
    apply("PriceChange", [{"customer_id": owner[i], "effective": at[i], "rise": f"{events.value[i]:.4f}"}
                          for i in of("price_rise")])
    deals = history.opportunities
    created = _dates(history, deals.created)
    apply("Deal", [{"customer_id": int(deals.customer[n]) + 1, "amount": str(deals.amount[n]), "created": created[n]}
                   for n in range(len(deals.amount))])
    moved = _dates(history, deals.stage_time)
    apply("DealStage", [{"deal_id": int(deals.stage_opportunity[n]) + 1, "stage": STAGES[deals.stage[n]],
                         "at": moved[n]} for n in range(len(deals.stage))])
    prospects = history.leads
    created, converted = _dates(history, prospects.created), _dates(history, prospects.converted)
    apply("Prospect", [{"score": int(prospects.score[n]), "created": created[n], "converted": converted[n]}
                       for n in range(len(prospects.score))])


@service(name="hung-storage", interface="caruso.storage/1", version="1.0.0")
class HungStorage:
    """A storage (hosted in the test's process) whose ``count`` waits until the test sets
    ``released`` and then fails: a database that does not answer. ``asked`` counts the calls."""

    released = threading.Event()
    asked = 0

    @remote
    def count(self, object: str, where: Any = None) -> int:
        HungStorage.asked += 1
        HungStorage.released.wait(60)
        raise Unavailable("the database did not answer")
