"""The journal migrations match the tables the service uses; a rule calling another service."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from caruso_core.testing.waiting import eventually
from caruso_storage import journal, migrate
from caruso_storage.service import StorageManager

CALLING = """<model name="calls">
  <object name="Ticket" table="ticket">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="state" type="string" length="20"/>
    <attribute name="amount" type="decimal" scale="2"/>
    <rule name="escalate" on="update">
      <when><test field="state" op="changed_to" value="escalated"/></when>
      <action use="call" interface="test.probe/1" method="record">
        <set field="ticket">${id}</set>
        <set field="text">Ticket ${id} escalated (${amount})</set>
      </action>
    </rule>
  </object>
</model>
"""


def test_the_migrations_create_exactly_the_journal_tables(database_url: str):
    engine = create_engine(database_url)
    migrate.upgrade_journal(engine)
    migrate.upgrade_journal(engine)
    with engine.connect() as connection:
        assert migrate.differences(connection, list(journal.metadata.tables.values())) == []
    engine.dispose()


def test_a_rule_calls_a_service_after_the_change_is_committed(caruso_host, caruso_client, tmp_path: Path):
    caruso_host("storage_probe:Probe")
    model = tmp_path / "calls.xml"
    model.write_text(CALLING)
    storage = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'calls.db'}")
    storage.start()
    ticket = storage.create("Ticket", {"state": "open", "amount": "12.5"})
    storage.update("Ticket", ticket["id"], {"state": "escalated"})
    storage.update("Ticket", ticket["id"], {"amount": "13"})
    probe = caruso_client.get("test.probe/1")
    assert eventually(probe.calls) == [{"ticket": ticket["id"], "text": f"Ticket {ticket['id']} escalated (12.50)"}]
    assert [entry["action"] for entry in storage.rule_log()] == ["call"]
    eventually(lambda: storage.outbox()[0]["state"] == "delivered")
    storage.stop()
