"""Model modules (``<include module>``), the ``set`` rule action and due rules (deadlines passing)."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

import caruso_bank
import caruso_service
from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.testing import eventually
from caruso_storage import loader

BANK_MODEL = Path(caruso_bank.__file__).parent / "model.xml"
SERVICE_MODEL = Path(caruso_service.__file__).parent / "model.xml"

BASE = """<model name="m">
  <include module="{module}"/>
  <object name="Customer" table="customer">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="80" required="true"/>
  </object>
  <object name="Task" table="task">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="subject" type="string" length="300" required="true"/>
    <attribute name="assignee" type="string" length="80"/>
    <attribute name="customer_id" type="integer"/>
    <attribute name="due" type="date"/>{extra}
  </object>
</model>"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def test_a_model_includes_a_module_and_gets_its_objects_and_rules():
    model = loader.loads(BASE.format(module="sales", extra="").encode(), "m.xml")
    assert {"Opportunity", "Quote", "SalesOrder"} <= set(model.objects)
    assert model.objects["Opportunity"].database == "main"
    assert [rule.name for rule in model.objects["Quote"].rules] == ["quote_sent", "quote_accepted"]


@pytest.mark.parametrize("module, extra, message", [
    ("nosuch", "", r"^m\.xml:2: unknown model module 'nosuch' \(installed: .*sales"),
    ("leads", "", r"leads\.xml:\d+: rule convert_to_opportunity: action create: object=\"...\" must name"),
    ("sales", "", None),
])
def test_module_errors_name_the_file_and_line(module, extra, message):
    text = BASE.format(module=module, extra=extra).encode()
    if message is None:
        clash = text.replace(b'<object name="Task"', b'<object name="Quote" table="q"><attribute name="id" '
                             b'type="integer" key="true"/></object>\n  <object name="Task"')
        with pytest.raises(ConfigError, match=r"^m\.xml:7: object 'Quote' is declared twice \(also in .*sales\.xml\)"):
            loader.loads(clash, "m.xml")
        return
    with pytest.raises(ConfigError, match=message):
        loader.loads(text, "m.xml")


def test_a_module_needs_what_it_names_of_the_including_model():
    text = BASE.format(module="activities", extra="").replace(
        '<attribute name="assignee" type="string" length="80"/>', "").encode()
    with pytest.raises(ConfigError, match=r"activities\.xml:\d+: rule follow_up_task: action create: "
                                          r"Task has no attribute\(s\) assignee"):
        loader.loads(text, "m.xml")


@pytest.mark.parametrize("rule, message", [
    ('<rule name="r" on="due"><action use="notify"/></rule>', r"m\.xml:\d+: rule r: on=\"due\" needs at="),
    ('<rule name="r" on="update" at="due"><action use="notify"/></rule>', r"at belongs to due rules only"),
    ('<rule name="r" on="due" at="subject"><action use="notify"/></rule>',
     r"rule r: at=\"subject\" must name a date or datetime attribute of Task"),
    ('<rule name="r" on="update"><action use="set" object="Customer"><set field="name">x</set></action></rule>',
     r"action set: object=\"...\" and key=\"\$\{...\}\" go together"),
    ('<rule name="r" on="update"><action use="set"><set field="nope">x</set></action></rule>',
     r"action set: Task has no attribute\(s\) nope"),
])
def test_due_rules_and_set_actions_are_checked_when_the_model_loads(rule, message):
    with pytest.raises(ConfigError, match=message):
        loader.loads(BASE.format(module="consent", extra="\n    " + rule).encode(), "m.xml")


def test_set_changes_the_object_itself_and_the_caller_gets_the_result(storage):
    lead = storage.create("Lead", {"name": "Eva", "company": "Bakkerij Eva", "interest": "solar panels",
                                   "score": 85})
    assert lead["rating"] == "hot"
    assert storage.get("Lead", lead["id"])["rating"] == "hot"
    assert [(e["rule"], e["action"]) for e in storage.rule_log()] == [("rate_hot", "set"),
                                                                       ("hot_lead_callback", "create")]
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "sales"})
    assert task["subject"] == "Call the hot lead Eva (Bakkerij Eva) about solar panels"
    cooled = storage.update("Lead", lead["id"], {"score": 30})
    assert cooled["rating"] == "cold" and storage.count("Task") == 1


def test_set_on_another_object_runs_its_rules_too(storage):
    customer = storage.create("Customer", {"name": "Gemeente Zwolle"})
    deal = storage.create("Opportunity", {"customer_id": customer["id"], "title": "Smart meters",
                                          "stage": "qualification"})
    with pytest.raises(InvalidInput, match="amount: -100.00 is below 0.00, the least allowed"):
        storage.create("Quote", {"opportunity_id": deal["id"], "amount": "-100", "status": "sent"})
    quote = storage.create("Quote", {"opportunity_id": deal["id"], "amount": "48000", "status": "sent"})
    assert storage.get("Opportunity", deal["id"])["stage"] == "quote sent"
    storage.update("Quote", quote["id"], {"status": "accepted"})
    won = storage.get("Opportunity", deal["id"])
    assert (won["stage"], won["deal_size"]) == ("won", "48000.00")
    [order] = storage.query("SalesOrder")
    assert (order["opportunity_id"], order["customer_id"], order["amount"]) == (deal["id"], customer["id"], "48000.00")


def test_a_rule_cycle_through_set_is_stopped(make_storage, tmp_path):
    cycle = BASE.format(module="consent", extra="""
    <rule name="ping" on="update"><when><test field="assignee" op="changed"/></when>
      <action use="set"><set field="assignee">${subject}${assignee}</set></action></rule>""")
    path = tmp_path / "cycle.xml"
    path.write_text(cycle)
    storage = make_storage(path)
    task = storage.create("Task", {"subject": "x"})
    with pytest.raises(ConfigError, match="levels deep; check the model's rules for a cycle"):
        storage.update("Task", task["id"], {"assignee": "a"})
    assert storage.get("Task", task["id"])["assignee"] is None


def test_a_passed_deadline_runs_a_due_rule_once(make_storage):
    storage = make_storage(SERVICE_MODEL, due_every=0)
    customer = storage.create("Customer", {"customer_no": "S-1", "name": "Hotel Zon"})
    hour = dt.timedelta(hours=1)

    def order(respond_by, status="open"):
        return storage.create("FieldServiceOrder", {
            "customer_id": customer["id"], "problem": "no heating", "opened": (utc_now() - 3 * hour).isoformat(),
            "respond_by": respond_by.isoformat(), "status": status})

    late, in_time, done = order(utc_now() - hour), order(utc_now() + hour), order(utc_now() - hour, "done")
    assert storage.run_due_rules() == 1
    assert [storage.get("FieldServiceOrder", o["id"])["status"] for o in (late, in_time, done)] == \
        ["sla-breached", "open", "done"]
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "service-manager"})
    assert f"SLA breached on order {late['id']}" in task["subject"]
    assert storage.run_due_rules() == 0
    storage.update("FieldServiceOrder", late["id"], {"status": "planned"})
    assert storage.run_due_rules() == 0                       # ran for this deadline already
    storage.update("FieldServiceOrder", late["id"], {"respond_by": (utc_now() - hour / 2).isoformat()})
    assert storage.run_due_rules() == 1                       # a new deadline passed
    assert storage.count("Task", {"field": "assignee", "op": "eq", "value": "service-manager"}) == 2


def test_a_date_deadline_passes_when_its_day_is_over(make_storage):
    storage = make_storage(BANK_MODEL, due_every=0)
    customer = storage.create("Customer", {"customer_no": "B-1", "name": "Visser"})
    today = dt.datetime.now(dt.timezone.utc).date()          # the storage's zone: UTC
    overdue, due_today = (storage.create("Complaint", {"customer_id": customer["id"], "subject": subject,
                                                       "received": (today - dt.timedelta(days=60)).isoformat(),
                                                       "answer_due": answer_due.isoformat()})
                          for subject, answer_due in (("fees", today - dt.timedelta(days=1)), ("app", today)))
    ran = storage.run_due_rules()
    assert ran == 1 or (ran == 2 and dt.datetime.now(dt.timezone.utc).date() != today)   # 2: midnight passed
    assert storage.get("Complaint", overdue["id"])["status"] == "escalated"
    assert storage.get("Complaint", due_today["id"])["status"] == ("open" if ran == 1 else "escalated")
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "complaints-manager"})
    assert task["subject"].startswith('Complaint "fees" was not answered by')


def test_two_instances_sweeping_at_once_run_a_due_rule_once(make_storage):
    first, second = make_storage(SERVICE_MODEL, due_every=0), make_storage(SERVICE_MODEL, due_every=0)
    customer = first.create("Customer", {"customer_no": "S-2", "name": "Bakkerij"})
    for _ in range(5):
        first.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "broken",
                                           "opened": (utc_now() - dt.timedelta(hours=1)).isoformat(),
                                           "respond_by": (utc_now() - dt.timedelta(minutes=5)).isoformat()})
    runs: list[int] = []
    threads = [threading.Thread(target=lambda s=s: runs.append(s.run_due_rules())) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(runs) == 5
    assert first.count("Task", {"field": "assignee", "op": "eq", "value": "service-manager"}) == 5


def test_the_service_notices_a_deadline_passing_while_it_runs(make_storage):
    storage = make_storage(SERVICE_MODEL, due_every=0.2)
    storage.start()
    customer = storage.create("Customer", {"customer_no": "S-3", "name": "Camping Duin"})
    order = storage.create("FieldServiceOrder", {"customer_id": customer["id"], "problem": "no hot water",
                                                 "opened": utc_now().isoformat(),
                                                 "respond_by": (utc_now() + dt.timedelta(seconds=2)).isoformat()})
    assert storage.get("FieldServiceOrder", order["id"])["status"] == "open"
    eventually(lambda: storage.get("FieldServiceOrder", order["id"])["status"], lambda status: status != "open",
               limit=30, what="the order leaving 'open'")
    assert storage.get("FieldServiceOrder", order["id"])["status"] == "sla-breached"


def test_a_failing_due_action_is_tried_again(make_storage, tmp_path):
    model = BASE.format(module="consent", extra="""
    <rule name="late" on="due" at="due"><action use="create" object="Customer">
      <set field="name">${assignee}</set></action></rule>""")
    path = tmp_path / "late.xml"
    path.write_text(model)
    storage = make_storage(path, due_every=0)
    task = storage.create("Task", {"subject": "call back", "due": "2020-01-01"})
    assert storage.run_due_rules() == 0                      # Customer.name is required: the action fails
    storage.update("Task", task["id"], {"assignee": "anna"})
    assert storage.run_due_rules() == 1
    assert [c["name"] for c in storage.query("Customer")] == ["anna"]


def test_a_converted_lead_needs_its_customer(storage):
    lead = storage.create("Lead", {"name": "Piet", "interest": "heat pump", "score": 55})
    assert lead["rating"] == "warm"
    with pytest.raises(InvalidInput, match="rule convert_to_opportunity of Lead, action create: .*customer_id"):
        storage.update("Lead", lead["id"], {"status": "converted"})
    assert storage.get("Lead", lead["id"])["status"] == "new"


def test_a_screened_lead_converts_into_an_opportunity_of_its_customer(storage):
    customer = storage.create("Customer", {"name": "Bakkerij Eva"})
    lead = storage.create("Lead", {"name": "Eva", "interest": "solar panels", "score": 40})
    storage.update("Lead", lead["id"], {"status": "screened", "customer_id": customer["id"], "score": 75})
    storage.update("Lead", lead["id"], {"status": "converted"})
    [deal] = storage.related("Customer", customer["id"], "opportunities")
    assert (deal["lead_id"], deal["stage"], deal["title"]) == (lead["id"], "qualification", "solar panels (Eva)")


def test_an_activity_with_a_follow_up_becomes_a_task(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    storage.create("Activity", {"customer_id": customer["id"], "kind": "call", "subject": "Price check",
                                "at": "2026-12-01T09:00:00"})
    storage.create("Activity", {"customer_id": customer["id"], "kind": "meeting", "subject": "Fleet renewal",
                                "at": "2026-12-01T10:00:00", "owner": "anna", "follow_up": "2026-12-08"})
    [task] = storage.related("Customer", customer["id"], "tasks")
    assert (task["subject"], task["assignee"], task["due"]) == ('Follow up the meeting "Fleet renewal"', "anna",
                                                                "2026-12-08")


def test_an_unanswered_question_becomes_a_task_and_its_answer_joins_the_faq(storage):
    article = storage.create("KnowledgeArticle", {"question": "Do you install heat pumps?", "status": "unanswered"})
    [task] = storage.query("Task", {"field": "assignee", "op": "eq", "value": "knowledge-team"})
    assert task["subject"] == (f'Answer the self-service question "Do you install heat pumps?" (article '
                               f'{article["id"]}) for the knowledge base')
    published = storage.update("KnowledgeArticle", article["id"], {"answer": "Yes, air and ground source."})
    assert published["status"] == "published"
    faq = storage.query("KnowledgeArticle", {"field": "status", "op": "eq", "value": "published"})
    assert [(a["question"], a["answer"]) for a in faq] == [("Do you install heat pumps?", "Yes, air and ground source.")]
