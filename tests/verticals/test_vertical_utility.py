"""The utility vertical: its model validates, its demo data is deterministic and valid,
and it loads into a real storage service through the manager."""
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import caruso_utility
from caruso_core.errors import InvalidInput
from caruso_core.verticals import installed
from caruso_utility.demo import ean, generate, iban, load

MODEL = Path(caruso_utility.__file__).parent / "model.xml"


def digest(records):
    return hashlib.sha256(json.dumps(list(records), sort_keys=True).encode()).hexdigest()


def test_the_vertical_is_installed_and_its_model_validates():
    assert installed()["utility"].version == "1.0.0"
    result = subprocess.run([sys.executable, "-m", "caruso_core", "model", "validate", str(MODEL)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "valid (26 objects" in result.stdout, result.stderr


def test_demo_data_is_deterministic():
    assert digest(generate(300, seed=7)) == digest(generate(300, seed=7))
    assert digest(generate(300, seed=7)) != digest(generate(300, seed=8))


def test_check_digits_and_uniqueness():
    assert iban("ABNA", 417164300) == "NL91ABNA0417164300"          # the well-known example IBAN
    assert ean(1)[-1] == str((10 - sum(int(d) * (3 if i % 2 == 0 else 1)
                                       for i, d in enumerate(reversed(ean(1)[:-1]))) % 10) % 10)
    records = list(generate(2000, seed=1))
    customers = [v for o, v in records if o == "Customer"]
    for field in ("customer_no", "phone", "email"):
        assert len({c[field] for c in customers}) == len(customers), field
    for customer in customers:
        digits = "".join(str(int(c, 36)) for c in customer["iban"][4:] + customer["iban"][:4])
        assert int(digits) % 97 == 1
    eans = [v["ean"] for o, v in records if o == "Connection"]
    assert len(set(eans)) == len(eans) and all(len(e) == 18 for e in eans)


def test_demo_data_loads_through_the_storage_service(caruso_host, caruso_client, tmp_path):
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'utility.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    counts = load(storage, customers=150, seed=3, batch=500)
    expected = Counter(o for o, _ in generate(150, seed=3))
    assert counts == dict(expected)
    for name, count in expected.items():
        assert storage.count(name) == count, name
    estimated = sum(1 for o, v in generate(150, seed=3) if o == "MeterReading" and v["source"] == "estimate")
    assert storage.count("Task") == estimated                  # the estimated-reading rule fired for each
    tasks = storage.query("Task", None, ["id"], 1000)
    assert all(task["subject"].startswith("Meter M") and task["customer_id"] for task in tasks)   # whose meter
    first = storage.get("Customer", 1)
    mine, theirs = (storage.related("Customer", key, "connections")[0] for key in (1, 2))
    order = {"customer_id": 1, "kind": "move-out", "planned": "2026-06-01"}
    with pytest.raises(InvalidInput) as caught:
        storage.create("ServiceOrder", {**order, "connection_id": theirs["id"]})
    assert (caught.value.details["field"], caught.value.details["refusal"]) == (
        "connection_id", f"Connection {theirs['ean']} is another customer's")
    with pytest.raises(InvalidInput, match="A move-out needs its planned date") as caught:
        storage.create("ServiceOrder", {**order, "connection_id": mine["id"], "planned": None})
    assert caught.value.details["field"] == "planned"
    storage.create("ServiceOrder", {**order, "connection_id": mine["id"]})
    [asked] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "moving"})
    assert asked["subject"] == f"Ask customer {first['customer_no']} for final readings on 2026-06-01"
    assert [c["commodity"] for c in storage.related("Customer", 1, "connections")][0] == "electricity"
    assert storage.query("Customer", {"field": "phone", "op": "eq", "value": first["phone"]})[0]["id"] == 1
