"""Existing databases the project did not create: Chinook, and an order-line table nobody designed."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, inspect, text

from caruso_core.errors import ConfigError, Conflict
from caruso_storage import records as records_module
from caruso_storage.service import StorageManager
from conftest import raw_engine

MODELS = Path(__file__).parent / "models"
CHINOOK = Path("/work/shared/legacy-samples/chinook.sqlite")

LEGACY_TABLE = '''CREATE TABLE "KUNDEN AUFTRAG" (
    "AUFTR-NR" INTEGER NOT NULL, "Pos" INTEGER NOT NULL, "ARTIKEL NR" CHAR(10) NOT NULL,
    "GELIEFERT?" CHAR(1), "BETRAG_CT" INTEGER, bemerkung VARCHAR(40),
    PRIMARY KEY ("AUFTR-NR", "Pos"))'''
LEGACY_ROWS = '''INSERT INTO "KUNDEN AUFTRAG" VALUES
    (1, 1, 'WIDGET    ', 'J', 12345, NULL), (1, 2, 'GADGET    ', 'N', 99, 'eilig'), (2, 1, 'WIDGET    ', 'X', 0, NULL)'''


@pytest.fixture
def chinook(tmp_path: Path) -> str:
    copy = tmp_path / "chinook.sqlite"
    shutil.copyfile(CHINOOK, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def chinook_storage(chinook: str, tmp_path: Path):
    storage = StorageManager(model=str(MODELS / "chinook.xml"), db=f"sqlite:///{tmp_path / 'crm.db'}",
                             databases={"chinook": chinook})
    yield storage
    storage.stop()


def test_chinook_is_read_through_renamed_attributes_and_relations(chinook_storage):
    storage = chinook_storage
    luis = storage.get("Customer", 1)
    assert (luis["first_name"], luis["last_name"], luis["country"]) == ("Luís", "Gonçalves", "Brazil")
    assert storage.related("Customer", 1, "support")["last_name"] == "Peacock"
    invoices = storage.related("Customer", 1, "invoices", order_by=["date"])
    assert len(invoices) == 7 and invoices[0]["date"] == "2022-03-11T00:00:00"
    assert invoices[0]["total"] == "3.98"
    lines = storage.related("Invoice", invoices[0]["number"], "lines")
    assert sum(line["quantity"] for line in lines) == 2
    assert storage.related("Employee", 2, "boss")["title"] == "General Manager"
    assert {e["last_name"] for e in storage.related("Employee", 2, "reports")} == {"Peacock", "Park", "Johnson"}
    assert storage.count("Customer", {"field": "country", "op": "eq", "value": "Germany"}) == 4


def test_chinook_is_written_without_ddl_and_in_its_own_formats(chinook_storage, chinook: str):
    storage = chinook_storage
    new = storage.create("Customer", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
                                      "country": "UK", "support_rep": 3})
    assert new["number"] == 60
    invoice = storage.create("Invoice", {"customer": new["number"], "date": "2026-01-02T03:04:05", "total": "9.90"})
    changed = storage.update("Customer", new["number"], {"city": "London"}, version=new["_version"])
    with pytest.raises(Conflict):
        storage.update("Customer", new["number"], {"city": "Paris"}, version=new["_version"])
    assert changed["city"] == "London"
    note = storage.create("Note", {"customer": new["number"], "text": "prefers email"})
    assert storage.related("Customer", new["number"], "notes")[0]["id"] == note["id"]
    assert storage.related("Note", note["id"], "customer_of")["last_name"] == "Lovelace"
    with create_engine(chinook).connect() as connection:
        row = connection.execute(text("SELECT InvoiceDate, Total FROM Invoice WHERE InvoiceId = :i"),
                                 {"i": invoice["number"]}).one()
        tables = {name for (name,) in connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert row[0] == "2026-01-02 03:04:05" and float(row[1]) == 9.9
    assert not any(name.startswith("caruso") or name == "note" for name in tables)


def test_a_missing_legacy_table_or_column_refuses_to_start(chinook: str, tmp_path: Path):
    model = (MODELS / "chinook.xml").read_text().replace('column="Email" type="string" length="60" required',
                                                         'column="EMail_Address" type="string" length="60" required')
    path = tmp_path / "broken.xml"
    path.write_text(model)
    with pytest.raises(ConfigError, match=r"broken\.xml:\d+: object Customer: table 'Customer' has no column "
                                          r"'EMail_Address'"):
        StorageManager(model=str(path), db=f"sqlite:///{tmp_path / 'crm.db'}", databases={"chinook": chinook})
    with pytest.raises(ConfigError, match="table 'Customer' does not exist in database chinook"):
        StorageManager(model=str(MODELS / "chinook.xml"), db=f"sqlite:///{tmp_path / 'crm.db'}",
                       databases={"chinook": f"sqlite:///{tmp_path / 'empty.db'}"})


@pytest.fixture
def orders(database_url: str):
    engine = raw_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(LEGACY_TABLE))
        connection.execute(text(LEGACY_ROWS))
    storage = StorageManager(model=str(MODELS / "orders.xml"), db=database_url)
    yield storage, engine
    storage.stop()
    engine.dispose()


def raw(engine, order: int, position: int):
    with engine.connect() as connection:
        return connection.execute(text('SELECT "ARTIKEL NR", "GELIEFERT?", "BETRAG_CT" FROM "KUNDEN AUFTRAG" '
                                       'WHERE "AUFTR-NR" = :o AND "Pos" = :p'), {"o": order, "p": position}).one()


def test_a_model_of_existing_tables_only_leaves_the_database_as_it_was(orders, data_folder):
    storage, engine = orders
    assert inspect(engine).get_table_names() == ["KUNDEN AUFTRAG"]
    storage.add_contact("OrderLine", {"order": 1, "position": 1}, {"channel": "phone", "summary": "late"})
    assert storage.contact_history("OrderLine", {"order": 1, "position": 1})[0]["key"] == {"order": 1, "position": 1}
    assert inspect(engine).get_table_names() == ["KUNDEN AUFTRAG"]
    assert (data_folder / "orders-journal.db").exists()


def test_composite_key_flags_cents_and_padding_are_read_and_written(orders):
    storage, engine = orders
    line = storage.get("OrderLine", {"order": 1, "position": 1})
    assert (line["article"], line["delivered"], line["amount"]) == ("WIDGET", True, "123.45")
    assert storage.get("OrderLine", {"order": 2, "position": 1})["delivered"] is None
    storage.update("OrderLine", {"order": 1, "position": 1}, {"delivered": False, "amount": "99.99"},
                   version=line["_version"])
    assert tuple(raw(engine, 1, 1)) == ("WIDGET    ", "N", 9999)
    storage.create("OrderLine", {"order": 3, "position": 1, "article": "BOLT", "delivered": True, "amount": 5})
    assert tuple(raw(engine, 3, 1)) == ("BOLT      ", "J", 500)
    delivered = storage.query("OrderLine", {"field": "delivered", "op": "eq", "value": True})
    assert [(r["order"], r["position"]) for r in delivered] == [(3, 1)]
    widgets = storage.query("OrderLine", {"field": "article", "op": "eq", "value": "WIDGET"})
    assert [(r["order"], r["position"]) for r in widgets] == [(1, 1), (2, 1)]
    cheap = storage.query("OrderLine", {"field": "amount", "op": "lt", "value": "1.00"})
    assert [(r["order"], r["amount"]) for r in cheap] == [(1, "0.99"), (2, "0.00")]
    assert storage.count("OrderLine", {"field": "article", "op": "startswith", "value": "gad"}) == 1


def test_a_legacy_key_in_use_names_the_attributes_of_its_columns(orders):
    storage, _ = orders
    with pytest.raises(Conflict, match="^OrderLine: another OrderLine has these values of order, position") as clash:
        storage.create("OrderLine", {"order": 1, "position": 2, "article": "BOLT"})
    assert clash.value.details == {"fields": ["order", "position"]}


def test_a_unique_index_made_by_hand_names_the_attributes_of_its_columns(orders, monkeypatch):
    """MariaDB names only the index: its columns are looked up once, after the failed write
    is rolled back; a lookup that fails leaves the general message."""
    storage, engine = orders
    with engine.begin() as connection:
        connection.execute(text('CREATE UNIQUE INDEX "ix_order_article" ON "KUNDEN AUFTRAG" '
                                '("AUFTR-NR", "ARTIKEL NR")'))
        connection.execute(text('CREATE UNIQUE INDEX "ix_remark" ON "KUNDEN AUFTRAG" (bemerkung)'))
    mariadb = engine.dialect.name in ("mysql", "mariadb")
    lookups = []
    event.listen(storage.engines["erp"], "before_cursor_execute",
                 lambda _connection, _cursor, statement, *_: lookups.append(1) if "COLUMN_NAME" in statement else None)
    clashing = {"order": 1, "position": 3, "article": "WIDGET"}
    monkeypatch.setattr(records_module, "_INDEX_COLUMNS", records_module.sql_text("SELECT COLUMN_NAME FROM nowhere"))
    with pytest.raises(Conflict) as clash:
        storage.create("OrderLine", clashing)
    assert clash.value.details == ({} if mariadb else {"fields": ["order", "article"]})
    monkeypatch.undo()
    for _ in range(2):
        with pytest.raises(Conflict, match="^OrderLine: another OrderLine has these values of order, article "
                                           "already$") as clash:
            storage.create("OrderLine", clashing)
        assert clash.value.details == {"fields": ["order", "article"]}
    with pytest.raises(Conflict, match="^note: another OrderLine has this note already$") as clash:
        storage.update("OrderLine", {"order": 1, "position": 1}, {"note": "eilig"})
    assert clash.value.details == {"field": "note", "fields": ["note"]}
    assert storage.count("OrderLine") == 3
    storage.create("OrderLine", {"order": 1, "position": 3, "article": "BOLT", "note": "neu"})
    assert len(lookups) == (3 if mariadb else 0)      # the failed one, then once per index


def test_a_legacy_row_changed_behind_our_back_is_a_conflict(orders):
    storage, engine = orders
    line = storage.get("OrderLine", {"order": 1, "position": 2})
    with engine.begin() as connection:
        connection.execute(text('UPDATE "KUNDEN AUFTRAG" SET bemerkung = \'sofort\' WHERE "AUFTR-NR" = 1 AND "Pos" = 2'))
    with pytest.raises(Conflict):
        storage.update("OrderLine", {"order": 1, "position": 2}, {"amount": "1.50"}, version=line["_version"])
    assert raw(engine, 1, 2)[2] == 99
    storage.delete("OrderLine", {"order": 1, "position": 2}, version=storage.get(
        "OrderLine", {"order": 1, "position": 2})["_version"])
    assert storage.count("OrderLine") == 2
