"""Storage: the storage service against raw SQLAlchemy Core on the same SQLite file.

Measured in one run, each contender in turn within a round (rotating order), the
ratio taken per round and its median reported, so that background load cancels out:
- inserting customers in batches of 1,000 (100,000 per contender): the service's
  ``apply(..., results="count")`` in process and over Pyro5 (the batch sent as one JSON
  text) against Core ``insert`` executemany (the service decodes and checks every
  value and allocates the keys);
- point get by key: ``get`` in process and over Pyro5 against a Core ``select``;
- filtered query with paging (``city = ?`` ordered by name, 50 rows at an offset).
Targets: in-process time ratio <= 1.25; batched insert throughput over Pyro5 at least
half of in-process.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
from typing import Any, Callable

from sqlalchemy import create_engine, select

from benchmarks._kit import rounds, solution
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


def run() -> dict:
    with solution() as running:
        url = f"sqlite:///{running.work / 'bench.db'}"
        os.environ["CARUSO_DATA"] = str(running.work / "data")
        storage = StorageManager(db=url)
        # the hosted service writes its own file: two processes alternating on one SQLite
        # file would empty each other's page cache and measure that instead
        running.host("storage", config={"db": f"sqlite:///{running.work / 'hosted.db'}"})
        try:
            return _measure(storage, running.client.get("caruso.storage/1"), url)
        finally:
            storage.stop()


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
