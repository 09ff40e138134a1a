"""The service company end to end, on real storage and script services with the vertical's model
and scripts: a self-service question nobody answered (asked twice: one article, counted) becomes
a task for the knowledge team and its answer joins the FAQ; a reported fault is checked against the warranty and opens an order
whose SLA timer escalates it when the response deadline passes."""
import datetime as dt
from pathlib import Path

import pytest

import caruso_service
from caruso_core.errors import InvalidInput
from caruso_core.testing import eventually

ROOT = Path(caruso_service.__file__).parent


def _service_vertical(caruso_host, caruso_client, tmp_path, due_every):
    """The service vertical's storage (due rules checked every ``due_every`` s) and script
    engine, hosted; returns their clients."""
    caruso_host("storage", config={"model": str(ROOT / "model.xml"), "db": f"sqlite:///{tmp_path / 'crm.db'}",
                                   "due_every": due_every})
    caruso_host("scripts", config={"scripts": [str(ROOT / "scripts")], "db": f"sqlite:///{tmp_path / 's.db'}"})
    return caruso_client.get("caruso.storage/1"), caruso_client.get("caruso.scripts/1")


def test_an_unanswered_self_service_question_becomes_a_task_and_its_answer_joins_the_faq(
        caruso_host, caruso_client, tmp_path):
    storage, scripts = _service_vertical(caruso_host, caruso_client, tmp_path, due_every=0)
    question = "Do you service heat pumps too?"

    for typed in (question, f"  {question} "):                       # asked twice
        view = scripts.begin("faq")
        for answer in ("other", typed):
            view = scripts.answer(view["session"], answer, view["seq"])
        assert view["outcome"] == "question_recorded", view

    [article] = storage.query("KnowledgeArticle", {"field": "question", "op": "eq", "value": question})
    assert article["status"] == "unanswered" and article["asked"] == 2    # one article, counted twice
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "knowledge-team"})
    assert question in task["subject"] and f"article {article['id']}" in task["subject"]

    storage.update("KnowledgeArticle", article["id"], {"answer": "Yes: air and ground source heat pumps."},
                   version=article["_version"])
    storage.update("Task", task["id"], {"done": True})
    faq = storage.query("KnowledgeArticle", {"field": "status", "op": "eq", "value": "published"})
    assert [(a["question"], a["answer"]) for a in faq] == [(question, "Yes: air and ground source heat pumps.")]


def test_a_reported_fault_is_checked_for_warranty_and_escalated_when_its_sla_deadline_passes(
        caruso_host, caruso_client, tmp_path):
    storage, scripts = _service_vertical(caruso_host, caruso_client, tmp_path, due_every=0.2)
    customer = storage.create("Customer", {"customer_no": "S-7", "name": "Hotel De Zon"})
    boiler = storage.create("Installation", {"customer_id": customer["id"], "serial_no": "HB-2291",
                                             "product": "Boiler HB 30", "installed": "2025-06-01",
                                             "warranty_until": (dt.date.today() + dt.timedelta(days=200)).isoformat()})
    storage.create("ServiceContract", {"customer_id": customer["id"], "level": "premium", "response_hours": 8,
                                       "starts": "2026-01-01"})

    view = scripts.begin("report_fault", {"customer_id": customer["id"], "installation_id": boiler["id"]})
    for answer in (None, None, "no", "no hot water", None, True):
        view = scripts.answer(view["session"], answer, view["seq"])
    assert view["outcome"] == "ordered", view
    [order] = storage.related("Installation", boiler["id"], "orders")
    opened, respond_by = (dt.datetime.fromisoformat(order[name]) for name in ("opened", "respond_by"))
    assert (order["under_warranty"], order["priority"], order["status"]) == (True, "high", "open")
    assert respond_by - opened in (dt.timedelta(hours=8), dt.timedelta(hours=8, seconds=1))   # now() twice

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    storage.update("FieldServiceOrder", order["id"], {"opened": (now - dt.timedelta(hours=9)).isoformat(),
                                                      "respond_by": (now - dt.timedelta(hours=1)).isoformat()})
    # the eight hours went by
    eventually(lambda: storage.get("FieldServiceOrder", order["id"])["status"], lambda status: status != "open",
               limit=30, what="the order leaving 'open'")
    assert storage.get("FieldServiceOrder", order["id"])["status"] == "sla-breached"
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "service-manager"})
    assert task["subject"].startswith(f"SLA breached on order {order['id']} (high)")


def test_a_fault_report_says_nothing_of_another_customers_equipment_and_asks_again(
        caruso_host, caruso_client, tmp_path):
    storage, scripts = _service_vertical(caruso_host, caruso_client, tmp_path, due_every=60)
    hotel, school = (storage.create("Customer", {"customer_no": f"S-{n}", "name": name})
                     for n, name in ((1, "Hotel De Zon"), (2, "School Jansen")))
    for owner, serial, product in ((school, "VT-9", "Vault door"), (hotel, "HB-2291", "Boiler HB 30")):
        storage.create("Installation", {"customer_id": owner["id"], "serial_no": serial, "product": product,
                                        "installed": "2025-06-01", "location": f"{product} room"})
    view = scripts.begin("report_fault", {"customer_id": hotel["id"]})
    view = scripts.answer(view["session"], None, view["seq"])
    view = scripts.answer(view["session"], "VT-9", view["seq"])
    shown = repr(view["step"])
    assert "VT-9" in shown and "Vault" not in shown and "room" not in shown, shown
    for answer in (None, True, "hb-2291"):                           # asked again, typed in lower case
        view = scripts.answer(view["session"], answer, view["seq"])
    assert "Boiler HB 30 with serial hb-2291 at Hotel De Zon, Boiler HB 30 room." in repr(view["step"])
    for answer in (None, "no", "no hot water", None, True):
        view = scripts.answer(view["session"], answer, view["seq"])
    assert view["outcome"] == "ordered", view
    [order] = storage.query("FieldServiceOrder", None)
    assert (order["customer_id"], order["problem"]) == (hotel["id"], "Not working: no hot water")


def test_caruso_data_demo_loads_customers_equipment_contracts_and_orders_whose_late_ones_escalate(
        caruso_host, caruso_client, tmp_path, monkeypatch):
    """caruso data demo for the service company: customers with their equipment (under
    warranty for two years), contracts and orders whose response deadline follows the
    contract, and the FAQ; the open orders past their deadline are marked breached by the SLA
    timer, each with a task for the service manager. Loaded again it is refused in one line."""
    from caruso_core.testing.commands import caruso
    from caruso_service.demo import NO_CONTRACT_HOURS, PROBLEMS, generate

    storage, _ = _service_vertical(caruso_host, caruso_client, tmp_path, due_every=60)
    monkeypatch.chdir(tmp_path)
    first = caruso("data", "demo", "--vertical", "service", "--customers", "300")
    assert first.exit_code == 0, first.output
    counts = {name: storage.count(name) for name in ("Customer", "Installation", "ServiceContract",
                                                     "FieldServiceOrder", "KnowledgeArticle")}
    assert sorted(first.stdout.removeprefix("service: created ").strip().split(", ")) == sorted(
        f"{count:,} {name}" for name, count in counts.items())
    assert counts["Customer"] == 300 and all(counts.values())
    now = dt.datetime(2026, 12, 6, 12, 0)
    generated = list(generate(300, now=now))
    assert generated == list(generate(300, now=now))                      # the same seed and moment, the same data
    assert len({values["serial_no"] for name, values in generated if name == "Installation"}) == counts["Installation"]
    contracts = {values["customer_id"]: values for name, values in generated if name == "ServiceContract"}
    serials = {values["id"]: values["serial_no"] for name, values in generated if name == "Installation"}
    for name, order in generated:
        if name == "FieldServiceOrder":
            hours = contracts[order["customer_id"]]["response_hours"] if order["customer_id"] in contracts \
                else NO_CONTRACT_HOURS
            assert (dt.datetime.fromisoformat(order["respond_by"]) - dt.datetime.fromisoformat(order["opened"])
                    == dt.timedelta(hours=hours))
            assert order["problem"] in PROBLEMS[serials[order["installation_id"]][:2]]    # its product's
    late = storage.count("FieldServiceOrder", {"and": [{"field": "status", "op": "eq", "value": "open"},
                                                       {"field": "respond_by", "op": "lt",
                                                        "value": dt.datetime.now(dt.timezone.utc).replace(
                                                            tzinfo=None).isoformat()}]})
    storage.run_due_rules()                                                  # the sweep due_every seconds makes
    breached = storage.count("FieldServiceOrder", {"field": "status", "op": "eq", "value": "sla-breached"})
    assert late and breached == late
    assert len(storage.query("Task", {"field": "assignee", "op": "eq", "value": "service-manager"})) == late
    again = caruso("data", "demo", "--vertical", "service")
    assert again.exit_code != 0 and "demo data goes into a deployment that holds none yet" in again.output


def test_an_order_names_equipment_of_its_own_customer_only(caruso_host, caruso_client, tmp_path):
    storage, _ = _service_vertical(caruso_host, caruso_client, tmp_path, due_every=60)
    ann, bo = (storage.create("Customer", {"customer_no": number, "name": name})["id"]
               for number, name in (("S-1", "Ann"), ("S-2", "Bo")))
    boiler = storage.create("Installation", {"customer_id": ann, "serial_no": "HB-1", "product": "Boiler",
                                             "installed": "2025-06-01"})["id"]
    order = {"problem": "No hot water", "opened": "2026-05-04T10:30:00", "installation_id": boiler}
    mine = storage.create("FieldServiceOrder", {**order, "customer_id": ann})
    with pytest.raises(InvalidInput) as caught:
        storage.create("FieldServiceOrder", {**order, "customer_id": bo})
    assert (caught.value.details["field"], caught.value.details["refusal"]) == (
        "installation_id", "Equipment HB-1 is another customer's")
    with pytest.raises(InvalidInput, match="Equipment HB-1 is another customer's"):
        storage.update("FieldServiceOrder", mine["id"], {"customer_id": bo})
    assert storage.create("FieldServiceOrder", {**order, "customer_id": bo, "installation_id": None})["id"]
    storage.update("Installation", boiler, {"customer_id": bo})               # the boiler moves to Bo
    assert storage.update("FieldServiceOrder", mine["id"], {"status": "done"})["status"] == "done"
