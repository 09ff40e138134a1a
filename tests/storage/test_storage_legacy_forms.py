"""A legacy schema nobody here wrote, served over Pyro5 on SQLite, PostgreSQL and MariaDB:
dates and times held as text and numbers, padded keys, flags in any case, upper-case names.
Reads are checked against Python's own parsing of the stored rows, filters against
hand-written SQL, writes against the raw table."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import utility_tables
from caruso_core.errors import ConfigError, InvalidInput
from caruso_storage.service import StorageManager
from conftest import raw_engine

MODEL = Path(__file__).parent / "models" / "utility.xml"

# per date/time attribute: its object, its column(s), the SQL of its sort key and of "holds no value",
# the Python key of a value compared with that SQL, and the value of a stored row
FORMS: dict[str, dict[str, Any]] = {
    "born": dict(object="Customer", table="KUNDE_STAMM", key="KDNR", sql="GEBDAT",
                 empty="GEBDAT IS NULL OR GEBDAT = '00000000'", of=lambda v: v.strftime("%Y%m%d"),
                 read=lambda row: _parsed(row["GEBDAT"], "%Y%m%d")),
    "start": dict(object="Contract", table="VERTRAG", key="VTNR",
                  sql="SUBSTR(BEGINN, 7, 4) || SUBSTR(BEGINN, 4, 2) || SUBSTR(BEGINN, 1, 2)",
                  empty="BEGINN IS NULL OR TRIM(BEGINN) = '' OR BEGINN = '00.00.0000'",
                  of=lambda v: v.strftime("%Y%m%d"), read=lambda row: _parsed(row["BEGINN"], "%d.%m.%Y")),
    "end": dict(object="Contract", table="VERTRAG", key="VTNR", sql="ENDE", empty="ENDE IS NULL OR ENDE = 0",
                of=lambda v: int(v.strftime("%Y%m%d")),
                read=lambda row: _parsed(str(row["ENDE"]) if row["ENDE"] else None, "%Y%m%d")),
    "created": dict(object="Contract", table="VERTRAG", key="VTNR", sql="ANGELEGT",
                    empty="ANGELEGT IS NULL OR ANGELEGT = 0",
                    of=lambda v: (v.year - 1900) // 100 * 1_000_000 + int(v.strftime("%y%m%d")),
                    read=lambda row: None if not row["ANGELEGT"] else dt.date(
                        1900 + int(row["ANGELEGT"]) // 1_000_000 * 100 + int(row["ANGELEGT"]) // 10_000 % 100,
                        int(row["ANGELEGT"]) // 100 % 100, int(row["ANGELEGT"]) % 100)),
    "notice": dict(object="Contract", table="VERTRAG", key="VTNR",
                   sql="CASE WHEN SUBSTR(KUENDIGUNG, 1, 2) < '69' THEN '20' ELSE '19' END || KUENDIGUNG",
                   empty="KUENDIGUNG IS NULL OR KUENDIGUNG = '000000'", of=lambda v: v.strftime("%Y%m%d"),
                   read=lambda row: _parsed(row["KUENDIGUNG"], "%y%m%d")),
    "call_time": dict(object="Contract", table="VERTRAG", key="VTNR", sql="RUFZEIT",
                      empty="RUFZEIT IS NULL OR TRIM(RUFZEIT) = ''", of=lambda v: v.strftime("%H%M%S"),
                      read=lambda row: _parsed(row["RUFZEIT"], "%H%M%S", dt.datetime.time)),
    "read_at": dict(object="Reading", table="ZAEHLERSTAND", key="VTNR, LFDNR",
                    sql="ABLDAT || COALESCE(NULLIF(TRIM(ABLZEIT), ''), '000000')",
                    empty="ABLDAT IS NULL OR ABLDAT = '00000000'", of=lambda v: v.strftime("%Y%m%d%H%M%S"),
                    read=lambda row: _parsed(row["ABLDAT"], "%Y%m%d") and _parsed(
                        row["ABLDAT"] + (row["ABLZEIT"] or "").strip().ljust(6, "0"), "%Y%m%d%H%M%S", lambda moment: moment)),
}


def _parsed(text: str | None, form: str, part=dt.datetime.date) -> Any:
    """What Python's own strptime makes of a stored text (None: blank, or zeros in a date)."""
    if text is None or not text.strip() or (part is not dt.datetime.time and not text.strip(" 0.")):
        return None
    if "%y" in form and int(text[:2]) >= 69:
        return part(dt.datetime.strptime("19" + text, "%Y" + form[2:]))
    return part(dt.datetime.strptime(text, form))


@pytest.fixture
def utility(database_url: str, caruso_host, caruso_client):
    engine = raw_engine(database_url)
    data = utility_tables.create(engine)
    caruso_host("storage", config={"model": str(MODEL), "db": database_url})
    yield caruso_client.get("caruso.storage/1"), engine, data
    engine.dispose()


def keys(records: list[dict[str, Any]], obj: str) -> list[Any]:
    return [(r["contract"], r["position"]) if obj == "Reading" else r["number"] for r in records]


def sql_keys(engine: sa.Engine, form: dict[str, Any], where: str, parameters: dict[str, Any] | None = None,
             order: str | None = None) -> list[Any]:
    statement = f"SELECT {form['key']} FROM {form['table']} WHERE {where} ORDER BY {order or form['key']}"
    with engine.connect() as connection:
        found = connection.execute(sa.text(statement), parameters or {}).all()
    return [tuple(row) if len(row) > 1 else row[0].rstrip() if isinstance(row[0], str) else row[0] for row in found]


def row_key(obj: str, row: dict[str, Any]) -> Any:
    return {"Customer": lambda: row["KDNR"].rstrip(), "Contract": lambda: row["VTNR"],
            "Reading": lambda: (row["VTNR"], row["LFDNR"])}[obj]()


def test_every_stored_form_reads_as_python_parses_it(utility):
    storage, _, data = utility
    records = {obj: dict(zip(keys(found := storage.query(obj, limit=1000), obj), found))
               for obj in ("Customer", "Contract", "Reading")}
    for name, form in FORMS.items():
        wanted = {row_key(form["object"], row): form["read"](row) for row in data[form["table"]]}
        got = {key: record[name] for key, record in records[form["object"]].items()}
        assert got == {key: None if value is None else value.isoformat() for key, value in wanted.items()}, name
        assert None in wanted.values() and len(set(wanted.values())) > 20, name   # zero dates, blanks, many values
    for obj, table, column, name, codes in (
            ("Customer", "KUNDE_STAMM", "AKTIV", "active",
             {("J", True), ("j", True), ("N", False), ("n", False), ("X", None), (None, None)}),
            ("Contract", "VERTRAG", "STORNO", "cancelled",
             {("Y", True), ("y", True), ("N", False), ("n", False), ("?", False), (None, None)})):
        assert {(row[column], records[obj][row_key(obj, row)][name]) for row in data[table]} == codes


@pytest.mark.parametrize("name", list(FORMS))
def test_every_filter_operator_finds_what_hand_written_sql_finds(utility, name):
    storage, engine, data = utility
    form = FORMS[name]
    present = sorted({value for row in data[form["table"]] if (value := form["read"](row)) is not None})
    probes = [present[0], present[len(present) // 3], present[len(present) // 2], present[-1]]
    known = f"NOT ({form['empty']})"
    for probe in probes:
        wire = probe.isoformat()
        for op, sql in (("eq", "="), ("ne", "<>"), ("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">=")):
            found = storage.query(form["object"], {"field": name, "op": op, "value": wire}, limit=1000)
            expected = sql_keys(engine, form, f"{known} AND {form['sql']} {sql} :probe", {"probe": form["of"](probe)})
            assert keys(found, form["object"]) == expected, (name, op, wire)
            assert expected or op in ("lt", "gt", "eq")
    among = storage.query(form["object"], {"field": name, "op": "in", "value": [p.isoformat() for p in probes]},
                          limit=1000)
    assert keys(among, form["object"]) == sql_keys(
        engine, form, f"{known} AND {form['sql']} IN (:a, :b, :c, :d)",
        dict(zip("abcd", map(form["of"], probes))))
    for is_null, where in ((True, form["empty"]), (False, known)):
        found = storage.query(form["object"], {"field": name, "op": "is_null", "value": is_null}, limit=1000)
        assert keys(found, form["object"]) == sql_keys(engine, form, where)
        assert storage.count(form["object"], {"field": name, "op": "eq", "value": None} if is_null
                             else {"field": name, "op": "ne", "value": None}) == len(found)
    ranged = storage.query(form["object"], {"and": [{"field": name, "op": "ge", "value": probes[1].isoformat()},
                                                    {"field": name, "op": "lt", "value": probes[2].isoformat()}]},
                           limit=1000)
    assert keys(ranged, form["object"]) == sql_keys(
        engine, form, f"{known} AND {form['sql']} >= :low AND {form['sql']} < :high",
        {"low": form["of"](probes[1]), "high": form["of"](probes[2])}) != []
    for descending in (False, True):
        ordered = storage.query(form["object"], {"field": name, "op": "is_null", "value": False},
                                order_by=["-" + name if descending else name], limit=1000)
        direction = " DESC" if descending else ""
        order = f"{form['sql']}{direction}, {form['key']}"
        assert keys(ordered, form["object"]) == sql_keys(engine, form, known, order=order), (name, descending)


def raw_row(engine: sa.Engine, table: str, where: str, columns: str) -> tuple[Any, ...]:
    with engine.connect() as connection:
        row = connection.execute(sa.text(f"SELECT {columns} FROM {table} WHERE {where}")).one()
    return tuple(value.rstrip() if isinstance(value, str) else int(value) if value is not None else None
                 for value in row)


def test_writes_store_each_legacy_form_and_null_writes_the_declared_empty_value(utility):
    storage, engine, _ = utility
    customer_columns = "KDNR, NAME, GEBDAT, AKTIV, SALDO_CT"
    customer = storage.create("Customer", {"number": "4711", "name": "ÖZTÜRK", "born": "1964-09-04",
                                           "active": True, "balance": "-12.34"})
    assert customer["number"] == "4711" and customer["born"] == "1964-09-04"
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT KDNR FROM KUNDE_STAMM WHERE NAME = 'ÖZTÜRK'")).scalar() \
            == "4711    "
    assert raw_row(engine, "KUNDE_STAMM", "KDNR = '4711    '", customer_columns) \
        == ("4711", "ÖZTÜRK", "19640904", "J", -1234)
    storage.update("Customer", "4711", {"born": None, "active": False})
    assert raw_row(engine, "KUNDE_STAMM", "KDNR = '4711    '", customer_columns) \
        == ("4711", "ÖZTÜRK", "00000000", "N", -1234)
    assert storage.get("Customer", "4711")["born"] is None

    contract_columns = "KDNR, BEGINN, ENDE, ANGELEGT, KUENDIGUNG, RUFZEIT, STORNO"
    storage.create("Contract", {"number": 900, "customer": "4711", "start": "2024-03-01", "end": "2031-12-31",
                                "created": "2024-03-15", "notice": "2068-06-30", "call_time": "08:30:05"})
    assert raw_row(engine, "VERTRAG", "VTNR = 900", contract_columns) \
        == ("4711", "01.03.2024", 20311231, 1240315, "680630", "083005", None)
    storage.update("Contract", 900, {"created": "1999-12-31", "notice": "1969-01-01", "cancelled": True})
    assert raw_row(engine, "VERTRAG", "VTNR = 900", contract_columns) \
        == ("4711", "01.03.2024", 20311231, 991231, "690101", "083005", "Y")
    storage.update("Contract", 900, {"start": None, "end": None, "created": None, "notice": None,
                                     "call_time": None})
    assert raw_row(engine, "VERTRAG", "VTNR = 900", contract_columns) == ("4711", "", 0, None, None, None, "Y")
    assert {name: value for name, value in storage.get("Contract", 900).items()
            if name in ("start", "end", "created", "notice", "call_time")} == dict.fromkeys(
        ("start", "end", "created", "notice", "call_time"))

    storage.create("Reading", {"contract": 900, "position": 1, "read_at": "2024-05-06T07:08:09", "value": 17})
    assert raw_row(engine, "ZAEHLERSTAND", "VTNR = 900", "ABLDAT, ABLZEIT, STAND") == ("20240506", "070809", 17)
    storage.update("Reading", {"contract": 900, "position": 1}, {"read_at": "2024-05-07"})
    assert raw_row(engine, "ZAEHLERSTAND", "VTNR = 900", "ABLDAT, ABLZEIT, STAND") == ("20240507", "000000", 17)
    storage.update("Reading", {"contract": 900, "position": 1}, {"read_at": None})
    assert raw_row(engine, "ZAEHLERSTAND", "VTNR = 900", "ABLDAT, ABLZEIT, STAND") == ("00000000", "000000", 17)
    assert storage.get("Reading", {"contract": 900, "position": 1})["read_at"] is None
    storage.delete("Reading", {"contract": 900, "position": 1})
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM ZAEHLERSTAND WHERE VTNR = 900")).scalar() == 0


def test_padded_text_matches_patterns_without_its_padding(utility):
    storage, engine, data = utility
    for op, value, sql in (("contains", "4 ", None), ("startswith", "1", "KDNR LIKE '1%'"),
                           ("like", "%1", "RTRIM(KDNR) LIKE '%1'"), ("contains", "1", "KDNR LIKE '%1%'")):
        found = [r["number"] for r in storage.query("Customer", {"field": "number", "op": op, "value": value},
                                                    limit=1000)]
        expected = [] if sql is None else sql_keys(engine, FORMS["born"], sql)
        assert found == expected and (sql is None or found), (op, value)
    assert storage.count("Contract", {"field": "customer", "op": "like", "value": "%7"}) == sum(
        row["KDNR"].rstrip().endswith("7") for row in data["VERTRAG"]) > 0


def test_flag_filters_find_exactly_the_rows_that_read_so(utility):
    storage, _, _ = utility
    for obj, name in (("Customer", "active"), ("Contract", "cancelled")):
        everything = storage.query(obj, limit=1000)
        for condition, holds in (({"op": "eq", "value": True}, lambda v: v is True),
                                 ({"op": "eq", "value": False}, lambda v: v is False),
                                 ({"op": "ne", "value": True}, lambda v: v is False),
                                 ({"op": "is_null", "value": True}, lambda v: v is None),
                                 ({"op": "is_null", "value": False}, lambda v: v is not None),
                                 ({"op": "in", "value": [True, False]}, lambda v: v is not None)):
            found = storage.query(obj, {"field": name, **condition}, limit=1000)
            assert keys(found, obj) == keys([r for r in everything if holds(r[name])], obj) != [], (obj, condition)
        ordered = [r[name] for r in storage.query(obj, {"field": name, "op": "is_null", "value": False},
                                                  order_by=[name], limit=1000)]
        assert ordered == sorted(ordered)


def test_choices_carry_their_labels_in_describe(utility):
    storage, _, _ = utility
    salutation = storage.describe("Customer")["attributes"]["salutation"]
    assert salutation["choices"] == ["HR", "FR", "FI"]
    assert salutation["choice_labels"] == {"HR": "Herr", "FR": "Frau", "FI": "Firma"}
    assert storage.describe()["objects"]["Contract"]["attributes"]["start"]["choice_labels"] is None
    with pytest.raises(InvalidInput, match="salutation: 'XX' is not one of HR, FR, FI"):
        storage.update("Customer", "7", {"salutation": "XX"})


def test_values_a_column_cannot_hold_are_refused_naming_the_attribute(utility, database_url):
    storage, engine, _ = utility
    before = raw_row(engine, "KUNDE_STAMM", "KDNR = '7       '", "GEBDAT, SALDO_CT")
    for values, message in (
            ({"balance": "92233720368547758.08"}, r"balance: '92233720368547758.08' is out of range for its column "
                                                   r"\(-92233720368547758.08 to 92233720368547758.07\)"),
            ({"balance": "1e30"}, r"balance: '1000000000000000000000000000000.00' is out of range"),
            ({"balance": "1e400"}, r"balance: a number of 401 digits is out of range for its column \(-9"),
            ({"born": "0999-01-01"}, None)):
        if message is None:
            storage.update("Customer", "7", values)     # %Y holds every year from 1
            continue
        with pytest.raises(InvalidInput, match=message) as refused:
            storage.update("Customer", "7", values)
        assert refused.value.details["field"] == "balance"          # the front office shows it by its field
    storage.update("Customer", "7", {"born": before[0][:4] + "-" + before[0][4:6] + "-" + before[0][6:]}
                   if before[0] != "00000000" else {"born": None})
    assert raw_row(engine, "KUNDE_STAMM", "KDNR = '7       '", "GEBDAT, SALDO_CT") == before
    for values, message in (({"notice": "2069-01-01"}, r"notice: '2069-01-01' cannot be stored in '%y%m%d' "
                                                       r"\(years 1969 to 2068\)"),
                            ({"created": "2900-01-01"}, r"created: .* \(years 1900 to 2899\)"),
                            ({"number": 2 ** 63}, r"number: '9223372036854775808' is out of range")):
        with pytest.raises(InvalidInput, match=message) as refused:
            storage.create("Contract", {"number": 5000, "customer": "7", **values})
        assert refused.value.details["field"] == next(iter(values))
    wide = {"number": 2 ** 31, "customer": "7"}
    if database_url.startswith("sqlite"):       # SQLite's INTEGER holds 64 bits
        storage.create("Contract", wide)
    else:
        with pytest.raises(InvalidInput, match=r"number: '2147483648' is out of range for its column "
                                               r"\(-2147483648 to 2147483647\)"):
            storage.create("Contract", wide)
    with pytest.raises(InvalidInput, match="position: .* out of range"):
        storage.read([{"op": "get", "object": "Reading", "key": {"contract": 1, "position": 2 ** 63}}])


def test_a_date_on_a_text_or_integer_column_needs_its_stored_form(database_url, tmp_path):
    engine = raw_engine(database_url)
    utility_tables.create(engine)
    engine.dispose()
    text = MODEL.read_text()
    for declared, column, shown, form in (
            ('convert="text" format="%Y%m%d" empty="00000000"', "GEBDAT", r"CHAR\(8\)", "text"),
            ('convert="number" empty="0"', "ENDE", r"INTEGER(\(11\))?", "number")):
        broken = tmp_path / f"{column}.xml"
        broken.write_text(text.replace(declared, ""))
        folded = column.lower() if database_url.startswith("postgresql") else column
        with pytest.raises(ConfigError, match=rf'{broken}:\d+: (Customer\.born|Contract\.end): column '
                                              rf'(KUNDE_STAMM|VERTRAG|kunde_stamm|vertrag)\.{folded} is {shown}'
                                              + re.escape(f': type="date" on it needs its stored form '
                                                          f'declared, convert="{form}" format="..."')):
            StorageManager(model=str(broken), db=database_url)


def test_names_are_found_as_the_database_folds_them_and_ambiguity_is_refused(database_url, tmp_path):
    engine = raw_engine(database_url)
    utility_tables.create(engine)
    lower = tmp_path / "lower.xml"
    lower.write_text(MODEL.read_text().replace('table="KUNDE_STAMM"', 'table="kunde_stamm"')
                     .replace('column="NAME"', 'column="name"'))
    storage = StorageManager(model=str(lower), db=database_url)
    try:
        assert storage.get("Customer", "7")["name"].startswith(("MEIER", "SCHULZE", "ÖZTÜRK", "VAN DYK"))
    finally:
        storage.stop()
    if database_url.startswith("sqlite"):     # SQLite holds no two table names differing only in case
        return
    with engine.begin() as connection:
        connection.exec_driver_sql('CREATE TABLE "Vertrag" (VTNR INTEGER PRIMARY KEY)')
    engine.dispose()
    mixed = tmp_path / "mixed.xml"
    mixed.write_text(MODEL.read_text().replace('table="VERTRAG"', 'table="VerTrag"'))
    with pytest.raises(ConfigError, match=r"object Contract: table 'VerTrag' matches '(VERTRAG|Vertrag)', '(Vertrag|vertrag)' "
                                          r"but for case: give the exact name"):
        StorageManager(model=str(mixed), db=database_url)
