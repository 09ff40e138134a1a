"""Finding a phone number however it is written: the ``digits`` filter (what a list's search
typed as a number and the desk's screen pop run when no customer holds the number as
written) against ``contains`` with the same text, the reference, and against ``eq``.

``CUSTOMERS`` customers with numbers written three ways, on one SQLite file; ``SEARCHES``
numbers looked up, each written otherwise than stored, one query each (CPU time of this
process, which runs SQLite and its ``caruso_digits`` calls), in rounds, the ratios' medians
reported. Both filters read every row (no index serves a comparison inside the text); the
figure records what reading each row's digits adds, it has no target.
"""
from __future__ import annotations

import time

from benchmarks._kit import in_process_storage, rounds
from caruso_storage.database import WRITE_OPTION
from caruso_storage.service import StorageManager
from caruso_storage.tables import VERSION_KEY

CUSTOMERS = 20_000
SEARCHES = 20
ROUNDS = 5
MODEL = """<model name="bench">
  <object name="Customer" table="customer">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="120" required="true"/>
    <attribute name="phone" type="string" length="40"/>
    <index name="ix_customer_phone" attributes="phone"/>
  </object>
</model>
"""
WRITTEN = ("+31 20 {:03d} {:04d}", "020-{:03d} {:04d}", "(020) {:03d}{:04d}")   # as stored
SENT = "+3120{:03d}{:04d}"                                                        # as looked up


def run() -> dict:
    return in_process_storage(MODEL, "numbers.db", _measure)


def _measure(storage: StorageManager) -> dict:
    with storage.engines["main"].connect().execution_options(**{WRITE_OPTION: True}) as connection:
        connection.execute(storage.records["Customer"].table.insert(),
                           [{"name": f"Customer {n}", "phone": _number(n, WRITTEN[n % 3]), VERSION_KEY: 1}
                            for n in range(CUSTOMERS)])
        connection.commit()
    # each number looked up as the network sends it, while the customer's is written otherwise
    wanted = [n * (CUSTOMERS // SEARCHES) + 1 for n in range(SEARCHES)]
    found = []

    def looking(op: str):
        def look_all() -> None:
            found.clear()
            for n in wanted:
                found.extend(storage.query("Customer", {"field": "phone", "op": op, "value": _number(n, SENT)}))
        return look_all

    seconds, ratios = rounds({op: [looking(op)] * ROUNDS for op in ("contains", "digits", "eq")}, "contains",
                             time.process_time)
    looking("digits")()                     # the rounds' last contender need not have been digits
    hits = len(found)
    print(f"{SEARCHES} numbers looked up by their digits over {CUSTOMERS:,} customers (each written otherwise: "
          f"{hits} found): {seconds['digits']:.3f} s, {ratios['digits']:.2f} x the same lookups as contains filters "
          f"({seconds['contains']:.3f} s, which find none of them), {seconds['eq']:.4f} s as eq through the index",
          flush=True)
    return {"customers": CUSTOMERS, "searches": SEARCHES, "found": hits, "digits_seconds": round(seconds["digits"], 3),
            "contains_seconds": round(seconds["contains"], 3), "eq_seconds": round(seconds["eq"], 4),
            "digits_ratio": round(ratios["digits"], 2)}


def _number(n: int, written: str) -> str:
    return written.format(500 + n // 10_000, n % 10_000)
