"""Storage: the storage service against raw SQLAlchemy Core on the same SQLite file.

Measured in one run, each contender in turn within a round (rotating order), the
ratio taken per round and its median reported, so that background load cancels out:
- inserting customers in batches of 1,000 (100,000 per contender): the service's
  ``apply(..., results="count")`` in process and over Pyro5 (the batch sent as one JSON
  text) against Core ``insert`` executemany (the service decodes and checks every
  value and allocates the keys);
- point get by key: ``get`` in process and over Pyro5 against a Core ``select``;
- filtered query with paging (``city = ?`` ordered by name, 50 rows at an offset);
- what a screen of meter readings needs, on legacy tables (``YYYYMMDD`` dates, padded
  keys, J/N flags, cents): 2,100 readings in a date range, each with its contract and the
  contract's customer, by one ``query(..., include=["contract.holder"])`` in process and
  over Pyro5 (one ``read`` batch as JSON text), against a hand-written Core join of the three tables through the same column
  types, building the same nested plain data; in process also by CPU time (what a loaded
  machine's waits for a core do not distort).
Targets: in-process time ratio <= 1.25; batched insert throughput over Pyro5 at least
half of in-process; readings with contract and customer <= 1.3 in process, <= 2.0 over Pyro5.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from typing import Any, Callable

from sqlalchemy import create_engine, select, text

from benchmarks._kit import rounds, solution
from caruso_storage import values as storage_values
from caruso_storage.service import StorageManager

CUSTOMERS = 100_000
BATCH = 1_000
GETS = 200
QUERIES = 20
ROUNDS = 15
CITIES = ["Berlin", "Bonn", "Hamburg", "Kiel", "Munich", "Ulm", "Essen", "Jena"]


def _customer(number: int) -> dict[str, Any]:
    return {"name": f"Customer {number:06d}", "email": f"c{number}@example.org", "phone": f"+49 {number:08d}",
            "city": CITIES[number % len(CITIES)], "segment": "business", "active": number % 3 != 0,
            "created": f"2026-01-{1 + number % 28:02d}T10:00:00"}


def _raw(values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "created": dt.datetime.fromisoformat(values["created"])}


READINGS_MODEL = """<model name="meters">
  <object name="Customer" table="KUNDE" existing="true">
    <attribute name="number" column="KDNR" type="string" length="8" convert="padded" key="true"/>
    <attribute name="name" column="NAME" type="string" length="40"/>
    <attribute name="born" column="GEBDAT" type="date" convert="text" empty="00000000"/>
    <attribute name="active" column="AKTIV" type="boolean" convert="flag"/>
  </object>
  <object name="Contract" table="VERTRAG" existing="true">
    <attribute name="number" column="VTNR" type="integer" key="true"/>
    <attribute name="customer" column="KDNR" type="string" length="8" convert="padded"/>
    <attribute name="start" column="BEGINN" type="date" convert="text" format="%d.%m.%Y"/>
    <attribute name="price" column="PREIS_CT" type="decimal" convert="cents"/>
    <relation name="holder" kind="many-to-one" target="Customer" foreign-key="customer"/>
  </object>
  <object name="Reading" table="STAND" existing="true">
    <attribute name="contract" column="VTNR" type="integer" key="true"/>
    <attribute name="position" column="LFDNR" type="integer" key="true"/>
    <attribute name="read_on" column="ABLDAT" type="date" convert="text" empty="00000000"/>
    <attribute name="value" column="ZAEHLER" type="integer"/>
    <relation name="contract_of" kind="many-to-one" target="Contract" foreign-key="contract"/>
  </object>
</model>"""
READINGS_TABLES = (
    "CREATE TABLE KUNDE (KDNR CHAR(8) PRIMARY KEY, NAME VARCHAR(40), GEBDAT CHAR(8), AKTIV CHAR(1))",
    "CREATE TABLE VERTRAG (VTNR INTEGER PRIMARY KEY, KDNR CHAR(8), BEGINN CHAR(10), PREIS_CT INTEGER)",
    "CREATE TABLE STAND (VTNR INTEGER, LFDNR INTEGER, ABLDAT CHAR(8), ZAEHLER INTEGER, PRIMARY KEY (VTNR, LFDNR))",
)
CONTRACTS, READINGS_PER_CONTRACT, SCREEN = 2_000, 12, 2_100


def _unversioned(value: Any) -> Any:
    """Records without their ``_version`` (which a join does not compute), nested ones too."""
    if isinstance(value, list):
        return [_unversioned(item) for item in value]
    if isinstance(value, dict):
        return {name: _unversioned(item) for name, item in value.items() if name != "_version"}
    return value


def _meter_tables(url: str) -> None:
    """The legacy tables of READINGS_MODEL, filled: a reading a month of 2025 per contract."""
    engine = create_engine(url)
    pick = random.Random(11)
    with engine.begin() as connection:
        for statement in READINGS_TABLES:
            connection.exec_driver_sql(statement)
        connection.execute(text("INSERT INTO KUNDE VALUES (:k, :n, :b, :a)"), [
            {"k": f"{n:<8d}", "n": f"KUNDE {n}", "b": f"19{pick.randint(30, 99)}0{pick.randint(1, 9)}1{pick.randint(0, 9)}",
             "a": pick.choice("JNj")} for n in range(1, CONTRACTS + 1)])
        connection.execute(text("INSERT INTO VERTRAG VALUES (:v, :k, :b, :p)"), [
            {"v": n, "k": f"{pick.randint(1, CONTRACTS):<8d}", "b": f"{pick.randint(1, 28):02d}.0{pick.randint(1, 9)}.2019",
             "p": pick.randint(1_000, 9_000)} for n in range(1, CONTRACTS + 1)])
        connection.execute(text("INSERT INTO STAND VALUES (:v, :l, :d, :z)"), [
            {"v": n, "l": month, "d": f"2025{month:02d}{pick.randint(1, 28):02d}", "z": pick.randint(0, 99_999)}
            for n in range(1, CONTRACTS + 1) for month in range(1, READINGS_PER_CONTRACT + 1)])
    engine.dispose()


def run() -> dict:
    with solution() as running:
        url = f"sqlite:///{running.work / 'bench.db'}"
        os.environ["CARUSO_DATA"] = str(running.work / "data")
        storage = StorageManager(db=url)
        # the hosted service writes its own file: two processes alternating on one SQLite
        # file would empty each other's page cache and measure that instead
        running.host("storage", config={"db": f"sqlite:///{running.work / 'hosted.db'}"})
        try:
            results = _measure(storage, running.client.get("caruso.storage/1"), url)
        finally:
            storage.stop()
        return results | _readings(running)


def _readings(running: Any) -> dict:
    """Readings with their contract and customer: one query with include against a Core join."""
    model = running.work / "meters.xml"
    model.write_text(READINGS_MODEL)
    urls = [f"sqlite:///{running.work / name}" for name in ("meters.db", "meters-hosted.db")]
    for url in urls:
        _meter_tables(url)
    storage = StorageManager(model=str(model), db=urls[0])
    running.host("storage", name="meters", config={"model": str(model), "db": urls[1]})
    remote = running.client.get("meters")
    engine = create_engine(urls[0])
    reading, contract, customer = (storage.schema.tables[name] for name in ("Reading", "Contract", "Customer"))
    where = {"and": [{"field": "read_on", "op": "ge", "value": "2025-03-01"},
                     {"field": "read_on", "op": "lt", "value": "2025-04-06"}]}
    include = ["contract_of.holder"]
    encode = storage_values.encode

    def plain(row: Any, table: Any) -> dict[str, Any]:
        return {column.key: encode(row[column]) for column in table.c}

    def core() -> list[dict[str, Any]]:
        statement = (select(*reading.c, *contract.c, *customer.c)
                     .join(contract, contract.c.number == reading.c.contract)
                     .outerjoin(customer, customer.c.number == contract.c.customer)
                     .where(reading.c.read_on >= dt.date(2025, 3, 1), reading.c.read_on < dt.date(2025, 4, 6))
                     .order_by(reading.c.contract, reading.c.position).limit(SCREEN))
        with engine.connect() as connection:
            rows = connection.execute(statement).mappings().all()
        return [{**plain(row, reading), "contract_of": {**plain(row, contract), "holder": plain(row, customer)}}
                for row in rows]

    request = json.dumps([{"op": "query", "object": "Reading", "where": where, "limit": SCREEN, "include": include}])

    def in_process() -> list[dict[str, Any]]:
        return storage.query("Reading", where, limit=SCREEN, include=include)

    def over_pyro5() -> list[dict[str, Any]]:
        # the read batch as JSON text: a large answer crosses the wire much faster so (docs/storage.md)
        return json.loads(remote.read(request))[0]

    try:
        shown = in_process()
        assert len(shown) == SCREEN and shown[0]["contract_of"]["holder"] is not None
        assert _unversioned(shown) == core(), "the service and the join disagree"
        print(f"{SCREEN:,} readings with contract and customer per call ...", flush=True)
        assert _unversioned(over_pyro5()) == _unversioned(shown)
        seconds, ratios = rounds({"core": [core] * ROUNDS, "service": [in_process] * ROUNDS,
                                  "pyro5": [over_pyro5] * ROUNDS}, "core")
        cpu, cpu_ratios = rounds({"core": [core] * ROUNDS, "service": [in_process] * ROUNDS}, "core",
                                 time.process_time)
    finally:
        storage.stop()
        engine.dispose()
    print(f"  core join {seconds['core'] * 1000:.1f} ms, service {seconds['service'] * 1000:.1f} ms, pyro5 "
          f"{seconds['pyro5'] * 1000:.1f} ms; time ratio in process {ratios['service']:.2f} (target <= 1.3), "
          f"over Pyro5 {ratios['pyro5']:.2f} (target <= 2.0); CPU time in process: core {cpu['core'] * 1000:.1f} ms, "
          f"service {cpu['service'] * 1000:.1f} ms, ratio {cpu_ratios['service']:.2f}", flush=True)
    return {"readings_ms_core": round(seconds["core"] * 1000, 2), "readings_ms_service": round(seconds["service"] * 1000, 2),
            "readings_ms_pyro5": round(seconds["pyro5"] * 1000, 2),
            "readings_ratio_service_to_core": round(ratios["service"], 3),
            "readings_ratio_pyro5_to_core": round(ratios["pyro5"], 3),
            "readings_cpu_ratio_service_to_core": round(cpu_ratios["service"], 3)}


def _measure(storage: StorageManager, remote: Any, url: str) -> dict:
    table = storage.schema.tables["Customer"]
    engine = create_engine(url)
    batches = CUSTOMERS // BATCH
    values = [[_customer(b * BATCH + i) for i in range(BATCH)] for b in range(batches)]
    operations = [[{"op": "create", "object": "Customer", "values": v} for v in batch] for batch in values]
    raw_rows = [[_raw(v) for v in batch] for batch in values]

    def raw_insert(rows: list[dict[str, Any]]) -> Callable[[], None]:
        def insert() -> None:
            with engine.begin() as connection:
                connection.execute(table.insert(), rows)
        return insert

    print(f"inserting {CUSTOMERS:,} customers per contender in batches of {BATCH:,} ...", flush=True)
    seconds, ratios = rounds({
        "core": [raw_insert(rows) for rows in raw_rows],
        # like Core's executemany, the service hands back nothing per row
        "service": [lambda ops=ops: storage.apply(ops, results="count") for ops in operations],
        "pyro5": [lambda ops=ops: remote.apply(json.dumps(ops), results="count") for ops in operations],
    }, "core")
    results = {
        "insert_rows_per_s_core": BATCH / seconds["core"],
        "insert_rows_per_s_service": BATCH / seconds["service"],
        "insert_rows_per_s_pyro5": BATCH / seconds["pyro5"],
        "insert_ratio_service_to_core": ratios["service"],
        "insert_throughput_pyro5_to_service": seconds["service"] / seconds["pyro5"],
    }
    print(f"  insert rows/s: core {results['insert_rows_per_s_core']:,.0f}, service "
          f"{results['insert_rows_per_s_service']:,.0f}, pyro5 {results['insert_rows_per_s_pyro5']:,.0f}; "
          f"service/core time ratio {ratios['service']:.2f} (target <= 1.25); pyro5 throughput "
          f"{results['insert_throughput_pyro5_to_service']:.2f} of in-process (target >= 0.5)", flush=True)

    picks = random.Random(7)
    keys = [[picks.randint(1, CUSTOMERS) for _ in range(GETS)] for _ in range(ROUNDS)]  # in every file

    def raw_gets(round_keys: list[int]) -> Callable[[], None]:
        def gets() -> None:
            for key in round_keys:
                with engine.connect() as connection:
                    connection.execute(select(*table.c).where(table.c.id == key)).one()
        return gets

    seconds, ratios = rounds({
        "core": [raw_gets(k) for k in keys],
        "service": [lambda k=k: [storage.get("Customer", key) for key in k] for k in keys],
        "pyro5": [lambda k=k: [remote.get("Customer", key) for key in k] for k in keys],
    }, "core")
    results |= {"get_per_s_core": GETS / seconds["core"], "get_per_s_service": GETS / seconds["service"],
                "get_per_s_pyro5": GETS / seconds["pyro5"], "get_ratio_service_to_core": ratios["service"],
                "get_ratio_pyro5_to_core": ratios["pyro5"]}
    print(f"  point get/s: core {results['get_per_s_core']:,.0f}, service {results['get_per_s_service']:,.0f}, "
          f"pyro5 {results['get_per_s_pyro5']:,.0f}; service/core time ratio {ratios['service']:.2f}", flush=True)

    pages = [[(CITIES[(r + q) % len(CITIES)], 50 * picks.randint(0, 100)) for q in range(QUERIES)]
             for r in range(ROUNDS)]
    where = {city: {"field": "city", "op": "eq", "value": city} for city in CITIES}

    def raw_pages(round_pages: list[tuple[str, int]]) -> Callable[[], None]:
        def query() -> None:
            for city, offset in round_pages:
                statement = (select(*table.c).where(table.c.city == city)
                             .order_by(table.c.name, table.c.id).limit(50).offset(offset))
                with engine.connect() as connection:
                    connection.execute(statement).all()
        return query

    def service_pages(target: Any, round_pages: list[tuple[str, int]]) -> Callable[[], None]:
        return lambda: [target.query("Customer", where[city], ["name"], 50, offset) for city, offset in round_pages]

    seconds, ratios = rounds({
        "core": [raw_pages(p) for p in pages],
        "service": [service_pages(storage, p) for p in pages],
        "pyro5": [service_pages(remote, p) for p in pages],
    }, "core")
    results |= {"query_per_s_core": QUERIES / seconds["core"], "query_per_s_service": QUERIES / seconds["service"],
                "query_per_s_pyro5": QUERIES / seconds["pyro5"], "query_ratio_service_to_core": ratios["service"],
                "query_ratio_pyro5_to_core": ratios["pyro5"]}
    print(f"  filtered page query/s: core {results['query_per_s_core']:,.1f}, service "
          f"{results['query_per_s_service']:,.1f}, pyro5 {results['query_per_s_pyro5']:,.1f}; "
          f"service/core time ratio {ratios['service']:.2f}", flush=True)
    engine.dispose()
    return {name: round(value, 3) for name, value in results.items()}
