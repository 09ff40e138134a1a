"""Business rules of the model: the shipped RFP review example and rule semantics; rule
actions as the contract says; each storage instance's own outbox delivery."""
from __future__ import annotations

import logging

import pytest

from caruso_core import HostContext, connect, hookimpl
from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.plugins import plugin_manager
from caruso_core.testing.waiting import eventually
from caruso_storage.rules import RuleAction
from caruso_storage.service import StorageManager

CALLING = """<model name="calls">
  <object name="Ticket" table="ticket">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="state" type="string" length="20"/>
    <rule name="escalate" on="update">
      <when><test field="state" op="changed_to" value="escalated"/></when>
      <action use="call_after_commit" interface="test.probe/1" method="record">
        <set field="ticket">${id}</set>
        <set field="text">Ticket ${id} escalated</set>
      </action>
    </rule>
  </object>
</model>
"""


@pytest.fixture
def deal(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    return storage, storage.create("Opportunity", {"customer_id": customer["id"], "title": "Fleet",
                                                   "deal_size": "75000"})


def review_tasks(storage):
    return storage.query("Task", {"field": "assignee", "op": "eq", "value": "senior-management"})


def test_rfp_received_on_a_big_deal_creates_a_review_for_senior_management(deal, caplog):
    storage, opportunity = deal
    assert review_tasks(storage) == []
    with caplog.at_level(logging.INFO, logger="caruso.storage.rules"):
        storage.update("Opportunity", opportunity["id"], {"stage": "RFP received"})
    [task] = review_tasks(storage)
    assert task["customer_id"] == opportunity["customer_id"] and task["done"] is False
    assert 'Review the RFP of "Fleet" (deal size 75000.00)' in task["subject"]
    assert task["due"] is not None
    assert "notify senior-management: RFP received" in caplog.text
    log = storage.rule_log()
    assert [(entry["rule"], entry["action"]) for entry in log] == [("rfp_review", "notify"), ("rfp_review", "create")]


def test_the_rule_fires_on_entering_the_stage_only(deal):
    storage, opportunity = deal
    storage.update("Opportunity", opportunity["id"], {"stage": "RFP received"})
    storage.update("Opportunity", opportunity["id"], {"title": "Fleet 2"})
    storage.update("Opportunity", opportunity["id"], {"deal_size": "80000"})
    assert len(review_tasks(storage)) == 1


@pytest.mark.parametrize("values", [{"deal_size": "50000"}, {"deal_size": None}, {"stage": "qualification"}])
def test_small_deals_or_other_stages_create_nothing(storage, values):
    customer = storage.create("Customer", {"name": "Acme"})
    storage.create("Opportunity", {"customer_id": customer["id"], "title": "T", "stage": "RFP received",
                                   "deal_size": "50000", **values})
    assert review_tasks(storage) == []


def test_the_rule_fires_on_create_too_in_the_same_batch(storage):
    customer = storage.create("Customer", {"name": "Acme"})
    storage.apply([{"op": "create", "object": "Opportunity",
                    "values": {"customer_id": customer["id"], "title": "Big", "stage": "RFP received",
                               "deal_size": "250000"}}])
    assert len(review_tasks(storage)) == 1


class Refuse(RuleAction):
    def run(self, context, step):
        raise InvalidInput(f"{context.values['title']} refused")


class Failing:
    @hookimpl
    def caruso_rule_actions(self):
        return {"create": Refuse()}


def test_a_failing_action_undoes_the_change(deal):
    storage, opportunity = deal
    manager = plugin_manager()
    plugin = Failing()
    manager.register(plugin)
    try:
        with pytest.raises(InvalidInput, match="rule rfp_review of Opportunity, action create: Fleet refused"):
            storage.update("Opportunity", opportunity["id"], {"stage": "RFP received"})
    finally:
        manager.unregister(plugin)
    assert storage.get("Opportunity", opportunity["id"])["stage"] == "initiation"
    assert review_tasks(storage) == [] and storage.rule_log() == []


def escalate(storage):
    ticket = storage.create("Ticket", {"state": "open"})
    storage.update("Ticket", ticket["id"], {"state": "escalated"})
    return ticket["id"]


def test_each_storage_instance_delivers_its_outbox_through_its_context_also_after_a_stop(
        caruso_host, caruso_manager, tmp_path, monkeypatch):
    caruso_host("storage_probe:Probe")
    probe = connect(caruso_manager.uri).get("test.probe/1")
    monkeypatch.setenv("CARUSO_MANAGER", "PYRO:caruso.manager@127.0.0.1:9")     # nobody listens there
    model = tmp_path / "calls.xml"
    model.write_text(CALLING)

    def storage(name):
        return StorageManager(model=str(model), db=f"sqlite:///{tmp_path / name}",
                              context=HostContext.standalone("storage", connect(caruso_manager.uri)))

    first, second = storage("first.db"), storage("second.db")
    assert first.delivery is not second.delivery
    first.start()
    escalate(first)
    eventually(probe.calls, lambda calls: calls == [{"ticket": 1, "text": "Ticket 1 escalated"}])
    first.stop()
    escalate(first)                                         # stopped: the call waits in the outbox ...
    assert [row["state"] for row in first.outbox()] == ["pending", "delivered"]
    second.start()
    escalate(second)                                        # ... the other instance's thread goes on
    eventually(probe.calls, lambda calls: len(calls) == 2)
    again = storage("first.db")                             # ... and the next start on it delivers it
    again.start()
    eventually(probe.calls, lambda calls: len(calls) == 3)
    eventually(lambda: [row["state"] for row in again.outbox()], lambda states: states == ["delivered", "delivered"],
               what="both rows marked delivered (after the call returned)")
    second.stop()
    again.stop()
    assert probe.calls()[1:] == [{"ticket": 1, "text": "Ticket 1 escalated"}, {"ticket": 2, "text": "Ticket 2 escalated"}]


def test_call_and_call_after_commit_name_one_action_that_needs_an_interface(make_storage, tmp_path):
    model = tmp_path / "calls.xml"
    model.write_text(CALLING.replace('use="call_after_commit"', 'use="call"').replace('interface="test.probe/1" ', ""))
    with pytest.raises(ConfigError, match='rule escalate: action call: needs interface="id/MAJOR"'):
        make_storage(model)


DATED = """<model name="dated">
  <object name="Claim" table="claim">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="received" type="date"/>
    <attribute name="due" type="date"/>
    <attribute name="label" type="string" length="20"/>
    <rule name="due_in_two_weeks" on="create">
      <action use="set"><set field="due">${received+14}</set></action>
    </rule>
    <rule name="label_plus" on="update">
      <when><test field="label" op="changed"/></when>
      <action use="set"><set field="due">${label-1}</set></action>
    </rule>
  </object>
</model>
"""


def test_a_value_counts_days_from_a_date_attribute(make_storage, tmp_path):
    """${received+14}: 14 days after the object's date; none without one; an attribute that is
    no date is the rule's error, and the change is undone."""
    (tmp_path / "dated.xml").write_text(DATED)
    storage = make_storage(str(tmp_path / "dated.xml"))
    assert storage.create("Claim", {"received": "2026-12-20"})["due"] == "2027-01-03"      # across the year
    claim = storage.create("Claim", {})
    assert claim["due"] is None
    with pytest.raises(ConfigError, match=r"rule label_plus: \$\{label-1\}: Claim.label is no date"):
        storage.update("Claim", claim["id"], {"label": "soon"})
    assert storage.get("Claim", claim["id"])["label"] is None


SAME_CUSTOMER = """<model name="orders">
  <object name="Customer" table="customer">
    <attribute name="id" type="integer" key="true" generated="true"/>
  </object>
  <object name="Machine" table="machine">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="customer_id" type="integer" required="true"/>
    <attribute name="serial" type="string" length="20"/>
  </object>
  <object name="Order" table="orders">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="customer_id" type="integer" required="true"/>
    <attribute name="machine_id" type="integer"/>
    <relation name="machine" kind="many-to-one" target="Machine" foreign-key="machine_id"/>
    <rule name="machine_of_the_customer" on="create update">
      <when><test field="machine.customer_id" op="ne" value-field="customer_id"/></when>
      <action use="reject" field="machine_id"><set field="message">machine ${machine.serial} is customer ${machine.customer_id}'s</set></action>
    </rule>
  </object>
</model>
"""


def test_a_rule_compares_a_related_field_with_the_objects_own_and_refuses_beside_the_field(tmp_path):
    model = tmp_path / "orders.xml"
    model.write_text(SAME_CUSTOMER)
    storage = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'orders.db'}")
    try:
        ann, bo = storage.create("Customer", {})["id"], storage.create("Customer", {})["id"]
        anns = storage.create("Machine", {"customer_id": ann, "serial": "M-7"})["id"]
        order = storage.create("Order", {"customer_id": ann, "machine_id": anns})
        assert storage.create("Order", {"customer_id": bo})["machine_id"] is None      # no machine: nothing compared
        with pytest.raises(InvalidInput) as caught:
            storage.create("Order", {"customer_id": bo, "machine_id": anns})
        assert (str(caught.value), caught.value.details["field"], caught.value.details["refusal"]) == (
            f"rule machine_of_the_customer of Order, action reject: machine M-7 is customer {ann}'s", "machine_id",
            f"machine M-7 is customer {ann}'s")                    # the message names values along the relation
        storage.update("Machine", anns, {"serial": None})
        with pytest.raises(InvalidInput, match=f"machine  is customer {ann}'s"):      # the customer changed, not the machine
            storage.update("Order", order["id"], {"customer_id": bo})
        assert storage.count("Order") == 2
    finally:
        storage.stop()


@pytest.mark.parametrize("test, message", [
    ('<test field="machine.customer_id" op="ne" value-field="nosuch"/>', "value_field 'nosuch' of machine.customer_id:"
                                                                          " Order has no such attribute"),
    ('<test field="machine.customer_id" op="in" value-field="customer_id"/>', "value_field takes one of eq, ne, lt, "
                                                                              "le, gt, ge, not 'in'"),
    ('<test field="machine.customer_id" op="eq" value-field="note"/>', "machine.customer_id is integer; value_field "
                                                                       "note is string"),
    ('<test field="price" op="ne" value-field="rate"/>', "price and rate are a decimal and a float: a float is not "
                                                         "exact, so eq and ne cannot compare them"),
])
def test_a_rule_comparing_two_fields_wrongly_is_refused_with_its_line(tmp_path, test, message):
    model = tmp_path / "orders.xml"
    model.write_text(SAME_CUSTOMER.replace('<test field="machine.customer_id" op="ne" value-field="customer_id"/>', test)
                     .replace('<attribute name="machine_id" type="integer"/>',
                              '<attribute name="machine_id" type="integer"/><attribute name="note" type="string"/>'
                              '<attribute name="price" type="decimal"/><attribute name="rate" type="float"/>'))
    with pytest.raises(ConfigError) as caught:
        StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'orders.db'}")
    assert str(caught.value).startswith(f"{model}:16: rule machine_of_the_customer: filter: {message}"), caught.value


@pytest.mark.parametrize("placeholder, message", [
    ("${machine.nosuch}", "${machine.nosuch}: Machine has no field 'nosuch' (fields: id, customer_id, serial)"),
    ("${customer.id}", "${customer.id}: Order has no many-to-one relation 'customer' (many-to-one relations: machine)"),
    ("${nosuch+3}", "${nosuch+3}: Order has no field 'nosuch' (fields: id, customer_id, machine_id)"),
    ("${machine.serial }", "${machine.serial } is no placeholder: write ${attribute}"),
    ("${machine.a.b.c.d}", "${machine.a.b.c.d} is no placeholder"), ("${today+12345}", "${today+12345} is no placeholder"),
    ("${machine.serial", "${machine.serial is customer ${machine.customer_id} is no placeholder"),   # unclosed
])
def test_a_rule_template_naming_no_value_is_refused_with_its_line(tmp_path, placeholder, message):
    model = tmp_path / "orders.xml"
    model.write_text(SAME_CUSTOMER.replace("${machine.serial}", placeholder))
    with pytest.raises(ConfigError) as caught:
        StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'orders.db'}")
    assert str(caught.value).startswith(f"{model}:17: rule machine_of_the_customer: action reject: {message}")


def test_a_query_cannot_compare_two_fields_and_reject_takes_only_an_attribute_as_field(tmp_path):
    model = tmp_path / "orders.xml"
    model.write_text(SAME_CUSTOMER)
    storage = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'orders.db'}")
    try:
        with pytest.raises(InvalidInput, match="value_field compares two fields in a rule's condition only"):
            storage.query("Order", {"field": "machine_id", "op": "eq", "value_field": "customer_id"})
    finally:
        storage.stop()
    model.write_text(SAME_CUSTOMER.replace('field="machine_id"><set', 'field="nosuch"><set'))
    with pytest.raises(ConfigError, match="action reject: field='nosuch': Order has no such attribute"):
        StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'orders.db'}")


@pytest.mark.parametrize("old, new, holds", [
    (None, "lost", False),                         # never on create
    ({"status": "lost"}, "active", True),
    ({"status": "lost"}, "lost", False),           # unchanged
    ({"status": "active"}, "lost", False),
])
def test_changed_from_holds_when_a_value_leaves_the_one_named(old, new, holds):
    from caruso_storage.filters import matches
    from caruso_storage.model import Condition
    condition = Condition("compare", field="status", op="changed_from", value="lost")
    assert matches(condition, {"status": new}, old) is holds


def test_a_template_writes_zero_as_zero_and_none_as_nothing():
    from caruso_storage.rules import _text
    assert [_text(value) for value in (0, 0.0, None, "S-1")] == ["0", "0.0", "", "S-1"]
