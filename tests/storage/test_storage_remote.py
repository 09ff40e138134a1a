"""Acceptance over Pyro5: the Chinook database mapped by a model, served by a hosted storage service."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from caruso_core.errors import Conflict, InvalidInput

MODELS = Path(__file__).parent / "models"
CHINOOK = Path("/work/shared/legacy-samples/chinook.sqlite")


@pytest.fixture
def remote(caruso_host, caruso_client, tmp_path: Path):
    copy = tmp_path / "chinook.sqlite"
    shutil.copyfile(CHINOOK, copy)
    caruso_host("storage", config={"model": str(MODELS / "chinook.xml"), "db": f"sqlite:///{tmp_path / 'crm.db'}",
                                   "databases": {"chinook": f"sqlite:///{copy}"}})
    return caruso_client


def test_chinook_create_get_update_query_relations_over_pyro5(remote):
    storage = remote.get("caruso.storage/1")
    customer = storage.create("Customer", {"first_name": "Grace", "last_name": "Hopper",
                                           "email": "grace@example.org", "support_rep": 4})
    invoice = storage.create("Invoice", {"customer": customer["number"], "date": "2026-05-01T12:00:00",
                                         "total": "19.80"})
    storage.create("InvoiceLine", {"invoice": invoice["number"], "track": 1, "unit_price": "9.90", "quantity": 2})
    assert storage.get("Customer", customer["number"]) == customer
    updated = storage.update("Customer", customer["number"], {"city": "Arlington"}, version=customer["_version"])
    with pytest.raises(Conflict, match="changed by someone else"):
        storage.update("Customer", customer["number"], {"city": "NYC"}, version=customer["_version"])
    assert storage.get("Customer", customer["number"])["city"] == updated["city"] == "Arlington"
    found = storage.query("Customer", {"and": [{"field": "last_name", "op": "startswith", "value": "hop"},
                                               {"field": "support_rep", "op": "eq", "value": 4}]})
    assert [c["number"] for c in found] == [customer["number"]]
    assert storage.related("Customer", customer["number"], "support")["last_name"] == "Park"
    [bought] = storage.related("Customer", customer["number"], "invoices")
    assert bought["total"] == "19.80"
    assert storage.related("Invoice", bought["number"], "lines")[0]["unit_price"] == "9.90"
    assert storage.count("Invoice", {"field": "customer", "op": "eq", "value": customer["number"]}) == 1
    with pytest.raises(InvalidInput, match="has no field 'password'"):
        storage.query("Customer", {"field": "password", "op": "eq", "value": "' OR 1=1 --"})


def test_two_clients_update_the_same_object_exactly_one_wins(remote):
    first, second = remote.get("caruso.storage/1"), remote.get("caruso.storage/1")
    customer = first.get("Customer", 5)
    barrier = threading.Barrier(2)
    outcomes = []

    def change(storage, city):
        barrier.wait()
        try:
            outcomes.append(storage.update("Customer", 5, {"city": city, "company": city},
                                           version=customer["_version"]))
        except Conflict as error:
            outcomes.append(error)

    threads = [threading.Thread(target=change, args=pair) for pair in ((first, "Kiel"), (second, "Ulm"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    wins = [o for o in outcomes if isinstance(o, dict)]
    assert len(wins) == 1 and sum(isinstance(o, Conflict) for o in outcomes) == 1
    stored = first.get("Customer", 5)
    assert stored["city"] == stored["company"] == wins[0]["city"]
