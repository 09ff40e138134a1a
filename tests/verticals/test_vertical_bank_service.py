"""The bank and service-company verticals: models load into a real storage service and
their business rules act."""
import datetime as dt
from pathlib import Path

import pytest

import caruso_bank
import caruso_service
from caruso_core.errors import InvalidInput
from caruso_core.verticals import installed


def storage_for(package, caruso_host, caruso_client, tmp_path):
    model = Path(package.__file__).parent / "model.xml"
    caruso_host("storage", config={"model": str(model), "db": f"sqlite:///{tmp_path / 'v.db'}"})
    return caruso_client.get("caruso.storage/1")


def tasks_of(storage, assignee):
    return storage.query("Task", {"field": "assignee", "op": "eq", "value": assignee})


def test_both_are_installed():
    assert {"bank", "service"} <= set(installed())
    from caruso_core.verticals import deployment_data        # the bank's portal: customers file complaints
    assert deployment_data(["bank"])["services"]["frontoffice"]["config"]["self_service"] == ["complaint"]


def test_bank_rules(caruso_host, caruso_client, tmp_path):
    storage = storage_for(caruso_bank, caruso_host, caruso_client, tmp_path)
    customer = storage.create("Customer", {"customer_no": "B-1", "name": "Visser", "phone": "0612345678"})
    account = storage.create("Account", {"iban": "NL91ABNA0417164300", "customer_id": customer["id"],
                                         "kind": "current"})
    card = storage.create("Card", {"customer_id": customer["id"], "account_id": account["id"],
                                   "last_digits": "4242", "expires": "2029-06-30"})
    storage.update("Card", card["id"], {"status": "stolen"}, version=card["_version"])
    [task] = tasks_of(storage, "card-desk")
    assert "ending 4242 reported stolen" in task["subject"] and task["customer_id"] == customer["id"]
    complaint = storage.create("Complaint", {"customer_id": customer["id"], "subject": "fees",
                                             "received": "2026-11-02"})
    assert complaint["answer_due"] == "2026-12-28"                          # eight weeks after receipt
    given = storage.create("Complaint", {"customer_id": customer["id"], "subject": "fees again",
                                         "received": "2026-11-02", "answer_due": "2026-11-30"})
    assert given["answer_due"] == "2026-11-30"                              # one given is kept
    storage.update("Complaint", complaint["id"], {"status": "ombudsman"})
    assert len(tasks_of(storage, "compliance")) == 1
    storage.create("Complaint", {"customer_id": customer["id"], "subject": "straight to the ombudsman",
                                 "received": "2026-11-02", "status": "ombudsman"})
    assert len(tasks_of(storage, "compliance")) == 2                        # created so, too
    for status in ("active", "blocked"):                     # a stolen card is not active again, not even by way
        with pytest.raises(InvalidInput) as caught:          # of blocked (which may be made active)
            storage.update("Card", card["id"], {"status": status})
        assert (caught.value.details["field"], caught.value.details["refusal"]) == (
            "status", "A card reported lost or stolen stays so until it expires: issue a new card instead")
    assert storage.update("Card", card["id"], {"status": "expired"})["status"] == "expired"
    other = storage.create("Card", {"customer_id": customer["id"], "account_id": account["id"],
                                    "last_digits": "1111", "expires": "2029-06-30", "status": "blocked"})
    assert storage.update("Card", other["id"], {"status": "active"})["status"] == "active"     # only blocked: may be


def test_service_company_rules(caruso_host, caruso_client, tmp_path):
    storage = storage_for(caruso_service, caruso_host, caruso_client, tmp_path)
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Hotel Zon"})
    order = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "no heating",
                                                 "priority": "high", "opened": "2026-11-20T08:00:00"})
    storage.update("FieldServiceOrder", order["id"], {"status": "sla-breached"})
    assert "SLA breached on order" in tasks_of(storage, "service-manager")[0]["subject"]
    article = storage.create("KnowledgeArticle", {"question": "How do I bleed a radiator?", "status": "unanswered"})
    storage.create("KnowledgeArticle", {"question": "Opening hours?", "answer": "8-17", "status": "published"})
    assert [t["subject"] for t in tasks_of(storage, "knowledge-team")] == [
        f'Answer the self-service question "How do I bleed a radiator?" (article {article["id"]}) '
        'for the knowledge base']


@pytest.mark.parametrize("name", ["utility", "bank", "service"])
def test_each_vertical_makes_a_deployment_whose_storage_uses_its_model(name):
    from caruso_core.verticals import deployment_data

    storage = deployment_data([name])["services"]["storage"]
    assert [Path(file).parent.name for file in storage["config"]["model"]] == [name]


def test_the_utility_deployment_runs_its_dialog_scripts():
    from caruso_core.verticals import deployment_data

    scripts = deployment_data(["utility"])["services"]["scripts"]["config"]["scripts"]
    assert [Path(folder).name for folder in scripts] == ["scripts"]
    assert {p.stem for p in Path(scripts[0]).glob("*.xml")} >= {"moving-house", "meter-reading",
                                                                 "payment-arrangement", "outage-report"}



def test_the_bank_demo_data_loads_through_the_storage_and_its_overdue_complaints_escalate(
        caruso_host, caruso_client, tmp_path):
    """caruso data demo for the bank: customers with valid IBANs, cards on current accounts,
    loans and complaints; the open complaints past their answer date are escalated by the
    vertical's rule, each with a task for the complaints manager."""
    from caruso_bank.demo import generate, iban, load
    from caruso_core.verticals import demo_loaders

    assert [vertical for vertical, _ in demo_loaders(["bank"], {"bank": installed()["bank"]})] == ["bank"]
    def valid(number):      # ISO 13616: the country and check digits moved to the end, letters as numbers
        return int("".join(str(int(c, 36)) for c in number[4:] + number[:4])) % 97 == 1
    storage = storage_for(caruso_bank, caruso_host, caruso_client, tmp_path)
    counts = load(storage, customers=200, batch=300)
    assert counts == {name: storage.count(name) for name in counts} and counts["Customer"] == 200
    assert set(counts) == {"Customer", "Account", "Card", "Loan", "Complaint"}
    today = dt.date.today()
    generated = list(generate(200, today=today))
    assert generated == list(generate(200, today=today))                     # the same seed and day, the same data
    assert len({values["customer_no"] for name, values in generated if name == "Customer"}) == 200
    ibans = [values["iban"] for name, values in generated if name == "Account"]
    assert all(map(valid, ibans)) and len(set(ibans)) == len(ibans) and not valid(iban(1)[:-1] + "2")
    overdue = [values for name, values in generated
               if name == "Complaint" and values["status"] == "open" and values["answer_due"] < today.isoformat()]
    storage.run_due_rules()                                                  # the sweep due_every seconds makes
    escalated = storage.count("Complaint", {"field": "status", "op": "eq", "value": "escalated"})
    assert overdue and escalated == len(overdue) == len(tasks_of(storage, "complaints-manager"))
