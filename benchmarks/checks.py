"""Duplicate checks: what looking for an equal e-mail (trimmed, case ignored) and phone (its
digits) costs a create, on a table that already holds rows.

Creating objects with both checks (and ``format="email"``) against the reference, creating
the same objects without checks, each table first filled with ``EXISTING`` rows; one create
per call, on one SQLite file, in rounds (CPU time of this process), the ratios' medians reported. The checks read the
whole table through a ``LIKE`` pattern (no index serves a comparison after normalising), so
their cost grows with the rows: the figure records it, it has no target.
"""
from __future__ import annotations

import itertools
import time

from benchmarks._kit import in_process_storage, rounds
from caruso_storage.database import WRITE_OPTION
from caruso_storage.service import StorageManager
from caruso_storage.tables import VERSION_KEY

EXISTING = 10_000
CHANGES = 200
ROUNDS = 5
OBJECT = """  <object name="{name}" table="{table}">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="120" required="true"/>
    <attribute name="email" type="string" length="200"{format}/>
    <attribute name="phone" type="string" length="40"/>{checks}
  </object>
"""
MODEL = ("<model name=\"bench\">\n"
         + OBJECT.format(name="Plain", table="plain", format="", checks="")
         + OBJECT.format(name="Checked", table="checked", format=' format="email"',
                         checks='\n    <unique attribute="email" compare="ignore-case"/>'
                                '\n    <unique attribute="phone" compare="digits"/>')
         + "</model>\n")


def run() -> dict:
    return in_process_storage(MODEL, "checks.db", _measure)


def _measure(storage: StorageManager) -> dict:
    numbers = itertools.count()
    # the rows there before, written as they are (a batch of creates would check each against the others)
    with storage.engines["main"].connect().execution_options(**{WRITE_OPTION: True}) as connection:
        for name in ("Plain", "Checked"):
            connection.execute(storage.records[name].table.insert(),
                               [{**_values(next(numbers)), VERSION_KEY: 1} for _ in range(EXISTING)])
        connection.commit()

    def creating(name: str):
        def create_all() -> None:
            for _ in range(CHANGES):
                storage.create(name, _values(next(numbers)))
        return create_all

    seconds, ratios = rounds({"plain": [creating("Plain")] * ROUNDS, "checked": [creating("Checked")] * ROUNDS},
                             "plain", time.process_time)
    results = {"existing": EXISTING, "changes": CHANGES, "plain_seconds": round(seconds["plain"], 3),
               "checked_seconds": round(seconds["checked"], 3), "checked_ratio": round(ratios["checked"], 2),
               "checked_ms_per_create": round(1000 * seconds["checked"] / CHANGES, 2)}
    print(f"{CHANGES} creates with an e-mail and a phone duplicate check on {EXISTING} rows: "
          f"{seconds['checked']:.3f} s, {ratios['checked']:.2f} x the same creates without checks "
          f"({seconds['plain']:.3f} s); {1000 * seconds['checked'] / CHANGES:.1f} ms a checked create", flush=True)
    return results


def _values(number: int) -> dict:
    return {"name": f"Lead {number}", "email": f"Lead.{number}@Example.com",
            "phone": f"+31 6 {number // 10_000:04d} {number % 10_000:04d}"}
