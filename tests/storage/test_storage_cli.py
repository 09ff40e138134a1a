"""caruso model validate|diff|upgrade|inspect and caruso data import."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect
from sqlalchemy.event import listen

from caruso_core.cli import cli
from caruso_core.errors import CarusoError, Unavailable
from caruso_storage import importer, loader
from caruso_storage.service import StorageManager
from conftest import raw_engine
import utility_tables

MODELS = Path(__file__).parent / "models"
CHINOOK = Path("/work/shared/legacy-samples/chinook.sqlite")

GROWN = """<model name="grow">
  <object name="Item" table="item">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="40" required="true"/>
    {more}
  </object>
  {objects}
</model>
"""


def run(*arguments: str):
    """Exit code and output (stdout and stderr) of ``caruso ARGUMENTS``, user errors as caruso prints them."""
    result = CliRunner().invoke(cli, list(arguments))
    if isinstance(result.exception, CarusoError):
        return 1, f"{result.output}error: {result.exception}\n"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_validate_reports_a_good_file_and_a_bad_one_with_its_line(tmp_path: Path):
    assert run("model", "validate", str(MODELS / "chinook.xml")) == (
        0, f"{MODELS / 'chinook.xml'}: valid (5 objects, 2 database(s))\n")
    bad = tmp_path / "bad.xml"
    bad.write_text(GROWN.format(more='<attribute name="price" type="money"/>', objects=""))
    done = subprocess.run([sys.executable, "-m", "caruso_core", "model", "validate", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"error: {bad}:5: Item.price: unknown type 'money' " \
                          "(types: string, text, integer, decimal, float, boolean, date, datetime, time)\n"


def test_diff_and_upgrade_bring_new_tables_up_to_the_model(tmp_path: Path, database_url: str):
    first, second = tmp_path / "v1.xml", tmp_path / "v2.xml"
    first.write_text(GROWN.format(more="", objects=""))
    second.write_text(GROWN.format(
        more='<attribute name="price" type="decimal" precision="10" scale="2"/>'
             '<index name="ix_item_name" attributes="name"/>',
        objects='<object name="Box"><attribute name="id" type="integer" key="true"/></object>'))
    StorageManager(model=str(first), db=database_url).stop()
    code, output = run("model", "diff", "--model", str(second), "--db", database_url)
    assert code == 0 and "3 difference(s)" in output
    assert "+ table Box" in output and "+ column item.price" in output and "+ index ix_item_name on item" in output
    code, output = run("model", "upgrade", "--model", str(second), "--db", database_url)
    assert code == 0 and "done: + column item.price" in output
    assert "up to date" in run("model", "diff", "--model", str(second), "--db", database_url)[1]
    storage = StorageManager(model=str(second), db=database_url)
    assert storage.create("Item", {"name": "x", "price": "2.50"})["price"] == "2.50"
    storage.stop()
    code, output = run("model", "diff", "--model", str(first), "--db", database_url)
    assert "- column price (not applied: change it by hand)" in output


def test_inspect_drafts_a_model_that_validates_and_serves_the_legacy_database(tmp_path: Path):
    copy = tmp_path / "chinook.sqlite"
    shutil.copyfile(CHINOOK, copy)
    draft = tmp_path / "draft.xml"
    code, output = run("model", "inspect", f"sqlite:///{copy}", "--output", str(draft))
    assert code == 0 and "caruso model validate" in output
    model = loader.load(draft)
    assert model.objects["InvoiceLine"].attributes["unit_price"].type == "decimal"
    assert model.objects["Invoice"].relations["customer"].foreign_key == ("customer_id",)
    storage = StorageManager(model=str(draft), db=f"sqlite:///{tmp_path / 'crm.db'}",
                             databases={"legacy": f"sqlite:///{copy}"})
    assert len(storage.related("Customer", 1, "invoice_list")) == 7
    storage.stop()


def test_inspect_drafts_what_validate_accepts_of_columns_typed_by_other_databases(tmp_path: Path):
    legacy = tmp_path / "oracle_made.sqlite"
    with raw_engine(f"sqlite:///{legacy}").begin() as connection:   # types another database wrote
        connection.exec_driver_sql('CREATE TABLE "KUNDE" ("KDNR" NUMBER(10) PRIMARY KEY, "NAME" VARCHAR2(30) '
                                   'NOT NULL, "NOTIZ" CLOB)')
    draft = tmp_path / "draft.xml"
    assert run("model", "inspect", f"sqlite:///{legacy}", "-o", str(draft))[0] == 0
    attributes = loader.load(draft).objects["Kunde"].attributes
    assert (attributes["name"].type, attributes["name"].length, attributes["notiz"].type) == ("string", 30, "text")
    code, output = run("model", "validate", str(draft), "--database", f"legacy=sqlite:///{legacy}")
    assert code == 0 and "they fit the model" in output, output


CSV_GOOD = "name,city,segment,active\nAcme,Berlin,business,true\nBeta,,private,false\n"
CSV_BAD = "name,city,segment\nAcme,Berlin,business\n,Bonn,business\nGamma,Kiel,galactic\nDelta,Ulm,public\n"


def test_import_writes_every_row_and_draws_no_progress_bar_outside_a_terminal(tmp_path: Path):
    source = tmp_path / "customers.csv"
    source.write_text("\n" + CSV_GOOD.replace("\n", "\n\n", 1))       # blank lines before and after the header
    code, output = run("data", "import", "Customer", str(source))
    assert (code, output) == (0, "2 of 2 row(s) written, 0 bad\n")
    storage = StorageManager()
    assert [(c["name"], c["city"], c["active"]) for c in storage.query("Customer")] == [
        ("Acme", "Berlin", True), ("Beta", None, False)]
    storage.stop()


def test_import_with_bad_rows_writes_nothing_and_names_each_row(tmp_path: Path):
    source = tmp_path / "customers.csv"
    source.write_text(CSV_BAD)
    code, output = run("data", "import", "Customer", str(source))
    assert code == 1
    assert f"{source}:3: Customer: name required" in output
    assert f"{source}:4: segment: 'galactic' is not one of private, business, public" in output
    assert "0 of 4 row(s) written, 2 bad" in output and "nothing written" in output
    storage = StorageManager()
    assert storage.count("Customer") == 0
    storage.stop()


@pytest.mark.parametrize("partial", [False, True])
def test_a_database_that_turned_read_only_is_one_error_not_a_bad_row_each(tmp_path: Path, partial):
    storage = StorageManager(db=f"sqlite:///{tmp_path / 'crm.db'}")
    try:
        engine = storage.engines["main"]
        engine.dispose()
        listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA query_only = 1"))
        rows = [(2, {"name": "Acme"}), (3, {"name": "Beta"})]
        with pytest.raises(Unavailable, match=r"^database main is read-only .*; 0 of 2 row\(s\) written before it$"):
            importer.import_rows(storage, "Customer", rows, partial, lambda _: None)
    finally:
        storage.stop()


def test_partial_import_writes_the_good_rows_and_reports_database_refusals(tmp_path: Path):
    source = tmp_path / "tags.csv"
    source.write_text("name\nvip\nvip\nnorth\n\n")
    code, output = run("data", "import", "Tag", str(source), "--partial")
    assert code == 1 and "2 of 3 row(s) written, 1 bad" in output     # a script sees that not all went in
    assert f"error: {source}: 1 bad row(s) not written (the good ones are)" in output
    assert f"{source}:3: name: line 2 has this name already" in output
    source.write_text("name\nsouth\n" + "".join(f"t{n}\n" for n in range(3000)) + "north\n")
    code, output = run("data", "import", "Tag", str(source))                # the stored one, by its line
    assert code == 1 and f"{source}:3003: name: another Tag has this name already" in output
    assert "0 of 3002 row(s) written, 1 bad" in output


def test_commands_in_a_deployment_folder_use_its_storage_model_and_database(tmp_path: Path, monkeypatch):
    """Without --model and --db the commands use the storage of ./caruso.toml (the packaged
    model met the deployment's database: unknown columns, missing tables)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.xml").write_text(GROWN.format(more="", objects=""))
    (tmp_path / "caruso.toml").write_text(
        f'[services.storage]\nuse = "storage"\nconfig = {{ model = ["model.xml"], db = "sqlite:///{tmp_path / "crm.db"}" }}\n')
    assert run("model", "upgrade")[0] == 0
    (tmp_path / "items.csv").write_text("name\nhammer\nsaw\n")
    code, output = run("data", "import", "Item", "items.csv")
    assert code == 0 and "2 of 2 row(s) written" in output, output
    assert inspect(create_engine(f"sqlite:///{tmp_path / 'crm.db'}")).has_table("item")
    assert not (tmp_path / "data" / "storage.db").exists()
    code, output = run("model", "diff")
    assert code == 0 and output.endswith("crm.db): new tables up to date\n"), output
    code, output = run("data", "import", "Item", "items.csv", "--db", f"sqlite:///{tmp_path / 'other.db'}",
                       "--model", "model.xml")                         # options given: none of the deployment's
    assert code == 0 and inspect(create_engine(f"sqlite:///{tmp_path / 'other.db'}")).has_table("item")
    (tmp_path / "caruso.toml").write_text('[services.storage]\nuse = "storage"\nconfig = { model = 5 }\n')
    code, output = run("model", "diff")
    assert code == 1 and output == ("error: caruso.toml: [services.storage] config: model is a file or a list of "
                                    "files, databases a table of URLs\n")
    code, output = run("data", "import", "Item", "items.csv", "--model", str(MODELS / "orders.xml"))   # --model
    assert code == 1 and output.startswith(f"error: {MODELS / 'orders.xml'}:") and len(output.splitlines()) == 1


def test_diff_against_a_database_file_not_made_yet_makes_none(tmp_path: Path):
    missing = tmp_path / "not-yet.db"
    code, output = run("model", "diff", "--db", f"sqlite:///{missing}")
    assert code == 0 and not missing.exists(), output
    assert output.startswith(f"database main (sqlite:///{missing}): does not exist yet; upgrade makes it with ")


def test_an_import_compares_keys_as_the_database_holds_them(tmp_path: Path):
    """007 and 7 are one number: the clash is named by its line before anything is written."""
    source = tmp_path / "customers.csv"
    source.write_text("id,name\n8,Acme\n")
    assert run("data", "import", "Customer", str(source))[0] == 0
    source.write_text("id,name\n007,Beta\n7,Gamma\n008,Delta\n9,Epsilon\n")
    code, output = run("data", "import", "Customer", str(source))
    assert code == 1 and "0 of 4 row(s) written, 2 bad" in output
    assert f"{source}:3: id: line 2 has this id already" in output
    assert f"{source}:4: id: another Customer has this id already" in output


@pytest.mark.parametrize("content, message", [
    ("nickname\nx\n", ":1: unknown column(s) nickname"),
    ("\n\nname,name\nx,y\n", ":3: column(s) name named twice"),
    (b"name\n\xff\xfe\n", "not a UTF-8 CSV file"),
    ("", "empty: a CSV file's first line names the columns"),
    ("\n\n", "empty: a CSV file's first line names the columns"),
    ("name,city\n\"unterminated,X\nB,Y\n", ":2: not CSV from this line on (unexpected end of data)"),
    ("name,city\n\"Acme\"x,Berlin\n", ":2: not CSV from this line on"),
    ("name,email,city\nA,,X,EXTRA,MORE\n", ":2: 5 cell(s), but the header names 3 column(s)"),
    ("name,email,city\nA,,X\nB\n", ":3: 1 cell(s), but the header names 3 column(s)"),
    ("name,city,name\nA,X,B\n", ":1: column(s) name named twice"),
    ("name\nNul\0Co\n", ":2: a cell holds a NUL character"),
    ("name\n" + "x" * 200_000 + "\n", ":2: not CSV from this line on (field larger than field limit"),
])
def test_import_refuses_unusable_files(tmp_path: Path, content, message):
    source = tmp_path / "x.csv"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, output = run("data", "import", "Customer", str(source))
    assert code == 1 and message in output and output.count("\n") == 1, output      # one line
    storage = StorageManager()
    assert storage.count("Customer") == 0                                          # nothing half-written
    storage.stop()
    assert run("data", "import", "Planet", str(source))[1].startswith("error: the model has no object 'Planet'")


def test_a_file_that_is_no_database_or_lacks_a_table_is_one_line(tmp_path: Path):
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("shopping list\n")
    url = f"sqlite:///{not_a_database}"
    for command in (["model", "inspect", url], ["model", "diff", "--db", url], ["model", "upgrade", "--db", url],
                    ["data", "import", "Customer", str(tmp_path / "x.csv"), "--db", url]):
        (tmp_path / "x.csv").write_text("name\nAcme\n")
        code, output = run(*command)
        assert (code, output) == (1, f"error: {url}{': cannot read it' if 'inspect' in command else ''}: "
                                     "DatabaseError: file is not a database\n"), command
    assert not_a_database.read_text() == "shopping list\n"
    legacy = tmp_path / "legacy.db"
    raw_engine(f"sqlite:///{legacy}").connect().close()
    code, output = run("model", "inspect", f"sqlite:///{legacy}", "--table", "nosuch")
    assert (code, output) == (1, f"error: sqlite:///{legacy}: cannot read it: no table nosuch\n")
    code, output = run("model", "inspect", f"sqlite:///{legacy}", "-o", str(tmp_path / "nowhere" / "draft.xml"))
    assert code == 1 and output.startswith(f"error: {tmp_path / 'nowhere' / 'draft.xml'}: cannot write the draft")


def test_an_upgrade_the_database_refuses_leaves_the_storage_tables_alone(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'taken.db'}"
    with raw_engine(url).begin() as connection:                 # another program's table, named like an index
        connection.exec_driver_sql('CREATE TABLE ix_customer_name (x INTEGER)')
    code, output = run("model", "upgrade", "--db", url)
    assert code == 1 and output.splitlines()[-1].startswith(f"error: {url}: ") and "ix_customer_name" in output
    assert set(inspect(create_engine(url)).get_table_names()) == {"ix_customer_name"}     # nothing half-made


def test_upgrade_migrates_the_storage_tables(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run("model", "upgrade", "--db", url)[0] == 0
    names = set(inspect(create_engine(url)).get_table_names())
    assert {"caruso_contact_history", "caruso_rule_log", "caruso_storage_alembic", "customer"} <= names


def test_diff_and_validate_compare_existing_tables_and_change_nothing(tmp_path: Path, database_url: str):
    engine = raw_engine(database_url)
    utility_tables.create(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE ZAEHLERSTAND")
        connection.exec_driver_sql("CREATE TABLE ZAEHLERSTAND (VTNR INTEGER NOT NULL, LFDNR INTEGER NOT NULL, "
                                   "ABLDAT CHAR(6), ABLZEIT CHAR(6), PRIMARY KEY (VTNR, LFDNR))")
    plain = create_engine(database_url)     # reflection reads MariaDB's SHOW CREATE TABLE without ANSI_QUOTES

    def columns() -> dict[str, list[str]]:
        inspector = inspect(plain)
        return {table: [column["name"] for column in inspector.get_columns(table)]
                for table in inspector.get_table_names()}

    before = columns()
    model = MODELS / "utility.xml"
    broken = tmp_path / "broken.xml"
    broken.write_text(model.read_text().replace('convert="text" format="%Y%m%d" empty="00000000"', "")
                      .replace('column="NAME" type="string" length="40"', 'column="NAME" type="string" length="60"'))
    for command in (("model", "diff", "--model", str(broken), "--db", database_url),
                    ("model", "validate", str(broken), "--db", database_url)):
        code, output = run(*command)
        assert code == 1, output
        lines = output.splitlines()
        assert "3 existing table(s), 4 mismatch(es)" in output
        assert re.search(r"Customer\.name: column (KUNDE_STAMM|kunde_stamm)\.(NAME|name) is VARCHAR\(40\), shorter "
                         r"than the values of the model \(up to 60 characters\)", output)
        assert re.search(r"Customer\.born: column \w+\.\w+ is CHAR\(8\): type=\"date\" on it needs its stored "
                         r"form declared, convert=\"text\" format=\"...\"", output)
        assert re.search(r"object Reading: table '\w+' has no column 'STAND' \(for value", output)
        assert re.search(r"Reading\.read_at: column \w+\.\w+ is CHAR\(6\), shorter than the values of the model "
                         r"\(up to 8 characters\)", output)
        assert lines[-1] == "error: 4 mismatch(es) between the model and existing tables (listed above); " \
                            "existing tables are never changed: correct the model"
    code, output = run("model", "upgrade", "--model", str(broken), "--db", database_url)
    assert code == 1 and "4 mismatch(es)" in output
    assert columns() == before
    plain.dispose()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE ZAEHLERSTAND")
    engine.dispose()
    utility_tables.create(raw_engine(database_url), only=("ZAEHLERSTAND",))
    code, output = run("model", "diff", "--model", str(model), "--db", database_url)
    assert code == 0 and "3 existing table(s), they fit the model" in output
    assert run("model", "validate", str(model), "--db", database_url)[0] == 0


KEYED = GROWN.format(more='<attribute name="note" type="string" length="80"/>'
                          '<index name="ix_item_name" attributes="name"/>'
                          '<search name="words" attributes="name note"/>', objects="")


def made_before_autoincrement(url: str, model: Path) -> None:
    """Item's table, its index and its search as caruso made them before tables with a
    generated key were AUTOINCREMENT."""
    StorageManager(model=str(model), db=url).stop()
    with raw_engine(url).begin() as connection:
        made = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE tbl_name = 'item' "
                                          "ORDER BY type = 'table' DESC").scalars().all()
        connection.exec_driver_sql("DROP TABLE item")
        for statement in [made[0].replace(" AUTOINCREMENT", ""), *made[1:]]:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql("DELETE FROM sqlite_sequence")


def test_upgrade_rebuilds_a_sqlite_table_that_gives_a_deleted_records_key_again(tmp_path: Path, caplog):
    model, url = tmp_path / "items.xml", f"sqlite:///{tmp_path / 'old.db'}"
    model.write_text(KEYED)
    made_before_autoincrement(url, model)
    with raw_engine(url).begin() as connection:                 # a report's view over the table
        connection.exec_driver_sql("CREATE VIEW named AS SELECT name FROM item")
    storage = StorageManager(model=str(model), db=url)
    assert [r.getMessage() for r in caplog.records if r.name == "caruso.storage"] == [
        "table item gives a deleted record's key again (made before tables with a generated key were "
        "AUTOINCREMENT): caruso model upgrade rebuilds it"]
    caplog.clear()
    first, second, third = (storage.create("Item", {"name": n, "note": f"{n} note"})["id"] for n in "abc")
    storage.update("Item", first, {"note": "changed"})
    storage.delete("Item", third)
    assert storage.create("Item", {"name": "d"})["id"] == third     # the old table's reuse
    storage.delete("Item", third)
    storage.stop()
    code, output = run("model", "diff", "--model", str(model), "--db", url)
    assert code == 0 and "1 difference(s)" in output, output
    assert "~ table item: rebuild as AUTOINCREMENT (it gives a deleted record's key again)" in output
    code, output = run("model", "upgrade", "--model", str(model), "--db", url)
    assert code == 0 and "done: ~ table item: rebuild as AUTOINCREMENT" in output, output
    assert "up to date" in run("model", "diff", "--model", str(model), "--db", url)[1]
    with raw_engine(url).connect() as connection:
        kept = connection.exec_driver_sql("SELECT type, name FROM sqlite_master WHERE tbl_name = 'item' "
                                          "AND type != 'table'").all()
    assert {("index", "ix_item_name"), ("trigger", "item__words__insert"), ("trigger", "item__words__update"),
            ("trigger", "item__words__delete")} <= set(kept)
    storage = StorageManager(model=str(model), db=url)
    assert not [r for r in caplog.records if r.name == "caruso.storage"]
    try:
        assert [(r["id"], r["name"], r["note"], r["_version"]) for r in storage.query("Item")] \
            == [(first, "a", "changed", 2), (second, "b", "b note", 1)]
        fourth = storage.create("Item", {"name": "e", "note": "fresh words"})["id"]
        assert fourth == third                                   # the highest key left, plus one
        storage.delete("Item", fourth)
        assert storage.create("Item", {"name": "f"})["id"] == fourth + 1      # never again
        assert [hit["id"] for hit in storage.search("Item", "words", "changed")] == [first]
    finally:
        storage.stop()
    with raw_engine(url).connect() as connection:
        assert connection.exec_driver_sql("SELECT name FROM named ORDER BY name").scalars().all() == ["a", "b", "f"]


def test_upgrade_leaves_a_table_whose_columns_the_model_lacks_and_says_why(tmp_path: Path):
    model, url = tmp_path / "items.xml", f"sqlite:///{tmp_path / 'old.db'}"
    model.write_text(KEYED)
    made_before_autoincrement(url, model)
    with raw_engine(url).begin() as connection:
        connection.exec_driver_sql("ALTER TABLE item ADD COLUMN legacy_flag INTEGER")
        connection.exec_driver_sql("INSERT INTO item (name, legacy_flag, caruso_version) VALUES ('a', 1, 1)")
    code, output = run("model", "upgrade", "--model", str(model), "--db", url)
    assert code == 0
    assert "- column legacy_flag (not applied: change it by hand)" in output
    assert "~ table item: rebuild as AUTOINCREMENT (it gives a deleted record's key again), once the change(s) " \
           "above are made (not applied: change it by hand)" in output
    with raw_engine(url).connect() as connection:
        assert connection.exec_driver_sql("SELECT name, legacy_flag FROM item").all() == [("a", 1)]
        assert "AUTOINCREMENT" not in connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'item'").scalar()


def test_upgrade_does_not_rebuild_a_table_that_differs_otherwise_from_the_model(tmp_path: Path):
    """A type changed by hand: the rebuild, which makes the table as the model says, would
    change it and its values; it waits until the table fits."""
    model, url = tmp_path / "items.xml", f"sqlite:///{tmp_path / 'old.db'}"
    model.write_text(GROWN.format(more='<attribute name="code" type="integer"/>', objects=""))
    made = ("CREATE TABLE item (id INTEGER NOT NULL, name VARCHAR(40) NOT NULL, code VARCHAR(10) DEFAULT 'n/a', "
            "caruso_version INTEGER NOT NULL, PRIMARY KEY (id))")
    with raw_engine(url).begin() as connection:
        connection.exec_driver_sql(made)
        connection.exec_driver_sql("INSERT INTO item VALUES (1, 'a', '007', 1)")
    code, output = run("model", "upgrade", "--model", str(model), "--db", url)
    assert code == 0 and "~ column item.code: type VARCHAR(10) -> INTEGER (not applied" in output, output
    assert "rebuild as AUTOINCREMENT (it gives a deleted record's key again), once the change(s) above are made " \
           "(not applied: change it by hand)" in output
    with raw_engine(url).connect() as connection:
        assert connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'item'").scalar() == made
        assert connection.exec_driver_sql("SELECT code FROM item").scalar() == "007"


def test_a_table_whose_rows_the_model_would_refuse_is_not_rebuilt(tmp_path: Path):
    model, url = tmp_path / "items.xml", f"sqlite:///{tmp_path / 'old.db'}"
    model.write_text(GROWN.format(more="", objects=""))
    made = "CREATE TABLE item (id INTEGER NOT NULL, name VARCHAR(40), caruso_version INTEGER NOT NULL, PRIMARY KEY (id))"
    with raw_engine(url).begin() as connection:                  # name not yet required when it was made
        connection.exec_driver_sql(made)
        connection.exec_driver_sql("INSERT INTO item VALUES (1, 'a', 1), (2, NULL, 1)")
    code, output = run("model", "upgrade", "--model", str(model), "--db", url)
    assert code == 0 and "~ column item.name: nullable True -> False (not applied: change it by hand)" in output
    assert "rebuild as AUTOINCREMENT (it gives a deleted record's key again), once the change(s) above" in output
    with raw_engine(url).connect() as connection:
        assert connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE tbl_name = 'item'").all() == [(made,)]
        assert connection.exec_driver_sql("SELECT * FROM item").all() == [(1, "a", 1), (2, None, 1)]
