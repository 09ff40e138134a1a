"""Atomic batches and concurrent updates of the same object."""
from __future__ import annotations

import threading

import pytest

from caruso_core.errors import Conflict, InvalidInput, NotFound


def test_apply_runs_everything_in_one_transaction(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    results = storage.apply([
        {"op": "create", "object": "Tag", "values": {"name": "vip"}},
        {"op": "create", "object": "Tag", "values": {"name": "north"}},
        {"op": "update", "object": "Customer", "key": customer["id"], "values": {"city": "Kiel"},
         "version": customer["_version"]},
        {"op": "create", "object": "Contact", "values": {"customer_id": customer["id"], "name": "Bo"}},
        {"op": "delete", "object": "Tag", "key": 1},
    ])
    assert [r["name"] for r in results[:2]] == ["vip", "north"] and results[4] is None
    assert results[2]["city"] == "Kiel" and results[3]["id"] >= 1
    assert [t["name"] for t in storage.query("Tag")] == ["north"]


@pytest.mark.parametrize("bad, error, message", [
    ({"op": "create", "object": "Tag", "values": {"name": "vip"}}, Conflict, "operation 1-2"),
    ({"op": "create", "object": "Tag", "values": {}}, InvalidInput, "operation 2: Tag: name required"),
    ({"op": "update", "object": "Customer", "key": 999, "values": {}}, NotFound, "operation 2"),
    ({"op": "drop", "object": "Customer"}, InvalidInput, "operation 2"),
    ({"op": "update", "object": "Customer", "key": 1, "values": {"city": "x"}, "version": 99}, Conflict,
     "operation 2"),
])
def test_a_failing_batch_leaves_the_database_unchanged(storage, bad, error, message):
    storage.create("Customer", {"name": "Acme"})
    storage.create("Tag", {"name": "vip"})
    before = (storage.query("Customer"), storage.query("Tag"))
    with pytest.raises(error, match=message):
        storage.apply([
            {"op": "update", "object": "Customer", "key": 1, "values": {"city": "Kiel"}},
            {"op": "create", "object": "Tag", "values": {"name": "fresh"}},
            bad,
        ])
    assert (storage.query("Customer"), storage.query("Tag")) == before


def test_concurrent_updates_from_the_same_version_exactly_one_wins(make_storage):
    first, second = make_storage(), make_storage()
    customer = first.create("Customer", {"name": "Acme"})
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def change(storage, city):
        barrier.wait()
        try:
            outcomes[city] = storage.update("Customer", customer["id"], {"city": city, "phone": city},
                                            version=customer["_version"])
        except Conflict as error:
            outcomes[city] = error

    threads = [threading.Thread(target=change, args=(s, c)) for s, c in ((first, "Kiel"), (second, "Ulm"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = [city for city, outcome in outcomes.items() if isinstance(outcome, dict)]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    assert "changed by someone else" in str(losers[0])
    stored = first.get("Customer", customer["id"])
    assert stored["city"] == stored["phone"] == winners[0]
    assert stored["_version"] == customer["_version"] + 1


def test_many_concurrent_writers_lose_no_update(make_storage):
    storages = [make_storage() for _ in range(3)]
    customer = storages[0].create("Customer", {"name": "Counter", "phone": "0"})

    def bump(storage):
        done = 0
        while done < 10:
            current = storage.get("Customer", customer["id"])
            try:
                storage.update("Customer", customer["id"], {"phone": str(int(current["phone"]) + 1)},
                               version=current["_version"])
                done += 1
            except Conflict:
                continue

    threads = [threading.Thread(target=bump, args=(s,)) for s in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert storages[0].get("Customer", customer["id"])["phone"] == "30"


def test_apply_takes_json_text_and_returns_keys_on_request(storage):
    import json

    operations = [{"op": "create", "object": "Tag", "values": {"name": name}} for name in ("a", "b")]
    assert storage.apply(json.dumps(operations), results="keys") == [{"key": 1, "_version": 1},
                                                                     {"key": 2, "_version": 1}]
    with pytest.raises(InvalidInput, match="not a JSON list"):
        storage.apply("[{'op': 'create'")
    with pytest.raises(InvalidInput, match="results must be one of records, keys"):
        storage.apply([], results="everything")
    assert storage.count("Tag") == 2
