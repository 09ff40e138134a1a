"""The outbox of rule calls: written in the change's transaction, its settings, the model's
``result=`` checked when the model loads, its listing, the order of delivery per interface;
delivery to a real wrapper is tested with the ERP (tests/wrappers/test_erp_outbox.py)."""
from __future__ import annotations

import re

import pytest

from caruso_core import HostContext, connect
from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.testing.waiting import eventually
from caruso_storage.delivery import Retries
from caruso_storage.service import StorageManager

CALLING = """<model name="calls">
  <object name="Ticket" table="ticket">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="state" type="string" length="20"/>
    <attribute name="text" type="text"/>
    <attribute name="remote_no" type="string" length="20"/>
    <rule name="escalate" on="update">
      <when><test field="state" op="changed_to" value="escalated"/></when>
      <action use="call" interface="test.probe/1" method="record" RESULT>
        <set field="ticket">${id}</set>
        <set field="text">${text}</set>
      </action>
    </rule>
  </object>
</model>
"""


def model(tmp_path, result='result="remote_no=number"'):
    path = tmp_path / "calls.xml"
    path.write_text(CALLING.replace("RESULT", result))
    return path


def test_a_call_is_a_pending_row_written_with_the_change(make_storage, tmp_path):
    storage = make_storage(model(tmp_path))                 # not started: nothing delivers
    ticket = storage.create("Ticket", {"state": "open", "text": "Boiler"})
    assert storage.outbox() == []
    storage.update("Ticket", ticket["id"], {"state": "escalated"})
    [row] = storage.outbox()
    assert {k: row[k] for k in ("rule", "object", "key", "interface", "method", "arguments", "result_to", "state",
                                "attempts", "last_error", "done_at")} == {
        "rule": "escalate", "object": "Ticket", "key": ticket["id"], "interface": "test.probe/1",
        "method": "record", "arguments": {"ticket": ticket["id"], "text": "Boiler"}, "result_to": "remote_no=number",
        "state": "pending", "attempts": 0, "last_error": None, "done_at": None}
    assert storage.rule_log()[0]["message"] == f"call test.probe/1.record(text, ticket): outbox row {row['id']}"
    assert storage.outbox(state="failed") == [] and len(storage.outbox(state="pending", limit=1)) == 1
    with pytest.raises(InvalidInput, match="state must be one of pending, delivered, failed"):
        storage.outbox(state="lost")


def test_arguments_too_big_for_the_outbox_refuse_the_change(make_storage, tmp_path):
    storage = make_storage(model(tmp_path))
    ticket = storage.create("Ticket", {"state": "open", "text": "x" * 70_000})
    with pytest.raises(InvalidInput, match="rule escalate: the arguments of test.probe/1.record take 700"):
        storage.update("Ticket", ticket["id"], {"state": "escalated"})
    assert storage.get("Ticket", ticket["id"])["state"] == "open" and storage.outbox() == []


@pytest.mark.parametrize("result, error", [
    ('result="missing=number"', "result=\"...\": Ticket has no attribute 'missing'"),
    ('result="id=number"', "result=\"...\": Ticket.id is a key or generated"),
    ('result="remote_no"', "result=\"...\" takes attribute=field pairs, not 'remote_no'"),
    ('result=" "', "result=\"...\" names no attribute=field pair"),
])
def test_a_result_that_cannot_be_written_back_refuses_the_model(make_storage, tmp_path, result, error):
    with pytest.raises(ConfigError, match=re.escape(f"calls.xml:9: rule escalate: action call: {error}")):
        make_storage(model(tmp_path, result))


def test_retry_settings_double_the_wait_up_to_a_bound_and_refuse_bad_values():
    retries = Retries.of({"backoff": 0.5, "backoff_max": 3})
    assert [retries.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3, 3]
    assert Retries.of(None) == Retries() and Retries().attempts == 8
    with pytest.raises(ConfigError, match="outbox: unknown setting.s. tries"):
        Retries.of({"tries": 3})
    with pytest.raises(ConfigError, match="outbox.backoff must be a number above 0"):
        Retries.of({"backoff": 0})
    with pytest.raises(ConfigError, match="outbox.attempts must be a whole number above 0"):
        Retries.of({"attempts": 2.5})


TWO_SERVICES = """<model name="two">
  <object name="Ticket" table="ticket">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <rule name="tell_both" on="create">
      <action use="call" interface="test.absent/1" method="record"><set field="ticket">${id}</set></action>
      <action use="call" interface="test.probe/1" method="record"><set field="ticket">${id}</set></action>
    </rule>
  </object>
</model>
"""


def test_a_missing_service_holds_back_its_own_calls_only_and_each_interface_gets_them_in_order(
        caruso_host, caruso_manager, tmp_path):
    caruso_host("storage_probe:Probe")
    path = tmp_path / "two.xml"
    path.write_text(TWO_SERVICES)
    storage = StorageManager(model=str(path), db=f"sqlite:///{tmp_path / 'two.db'}", outbox={"backoff": 0.1},
                             context=HostContext.standalone("storage", connect(caruso_manager.uri)))
    storage.start()
    try:
        for _ in range(3):
            storage.create("Ticket", {})
        probe = connect(caruso_manager.uri).get("test.probe/1")
        assert eventually(probe.calls, lambda calls: len(calls) == 3) == [{"ticket": 1}, {"ticket": 2}, {"ticket": 3}]
        absent = eventually(lambda: storage.outbox(state="pending"), lambda rows: rows[-1]["attempts"] >= 2)
        assert [(row["key"], row["interface"]) for row in absent] == [(3, "test.absent/1"), (2, "test.absent/1"),
                                                                      (1, "test.absent/1")]
        assert [row["attempts"] for row in absent[:2]] == [0, 0]     # the first one holds back the others
        assert "no instance of 'test.absent/1' is registered" in absent[-1]["last_error"]
    finally:
        storage.stop()
