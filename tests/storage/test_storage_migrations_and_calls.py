"""The journal migrations match the tables the service uses; a rule calling another service."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
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
    """The migrations (run through Alembic) and a new database's tables (made from the journal's
    definitions, without Alembic) are the same tables, stamped with the same head."""
    engine = create_engine(database_url)
    with engine.connect() as connection, connection.begin():
        migrate.run_migrations(connection)
        assert migrate.differences(connection, list(journal.metadata.tables.values())) == []
        assert connection.scalar(sa.text(f"SELECT version_num FROM {migrate.VERSION_TABLE}")) == migrate.HEAD
        journal.metadata.drop_all(connection)
        connection.execute(sa.text(f"DROP TABLE {migrate.VERSION_TABLE}"))
    migrate.upgrade_journal(engine)
    migrate.upgrade_journal(engine)
    with engine.connect() as connection:
        assert migrate.differences(connection, list(journal.metadata.tables.values())) == []
        assert connection.scalar(sa.text(f"SELECT version_num FROM {migrate.VERSION_TABLE}")) == migrate.HEAD
    with engine.begin() as connection:           # a first start cut short (MySQL commits each table made)
        journal.metadata.drop_all(connection)
        connection.execute(sa.text(f"DROP TABLE {migrate.VERSION_TABLE}"))
        journal.contact_history.create(connection)
    migrate.upgrade_journal(engine)
    with engine.connect() as connection:
        assert migrate.differences(connection, list(journal.metadata.tables.values())) == []
        assert connection.scalar(sa.text(f"SELECT version_num FROM {migrate.VERSION_TABLE}")) == migrate.HEAD
    engine.dispose()
    config = Config()
    config.set_main_option("script_location", migrate.SCRIPTS)
    assert ScriptDirectory.from_config(config).get_current_head() == migrate.HEAD


def test_a_database_an_older_version_made_is_migrated_to_the_head(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", migrate.SCRIPTS)
    with engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")        # as the version before the outbox left it
        connection.execute(sa.text("INSERT INTO caruso_rule_log (at, object, object_key, rule, action, message) "
                                   "VALUES ('2026-01-02 03:04:05', 'Ticket', '1', 'r', 'a', 'kept')"))
    migrate.upgrade_journal(engine)
    with engine.connect() as connection:
        assert migrate.differences(connection, list(journal.metadata.tables.values())) == []
        assert connection.scalar(sa.text(f"SELECT version_num FROM {migrate.VERSION_TABLE}")) == migrate.HEAD
        assert connection.scalar(sa.text("SELECT message FROM caruso_rule_log")) == "kept"
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
