"""Full-text search: what a declared search gains when reading and costs when writing.

Reading: 40 searches of two words over 20,000 articles, each the first page of 20 (the
storage's ``search``, an FTS5 index ranked by bm25) against the reference, the same words
as ``contains`` filters of a ``query`` (what a search without index does: every row read).
Writing: 200 creates of an object with a search (its triggers write the index) against 200
creates of the same object without one, both tables holding 20,000 rows before. On one SQLite file, in rounds by CPU time, the ratios'
medians reported. Targets: searching at most a tenth of the filter's time (ratio <= 0.1),
writing at most half again (ratio <= 1.5).
"""
from __future__ import annotations

import json
import random
import time

from benchmarks._kit import in_process_storage, rounds
from caruso_storage.service import StorageManager

ARTICLES = 20_000
SEARCHES = 40
CREATES = 200
ROUNDS = 5
MODEL = """<model name="bench">
  <object name="Searched" table="searched">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="question" type="string" length="300" required="true"/>
    <attribute name="answer" type="text"/>
    <search name="faq" attributes="question answer"/>
  </object>
  <object name="Plain" table="plain">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="question" type="string" length="300" required="true"/>
    <attribute name="answer" type="text"/>
  </object>
</model>
"""
WORDS = [f"w{number:04d}" for number in range(2000)]


def run() -> dict:
    return in_process_storage(MODEL, "search.db", _measure)


def _text(draw: random.Random, words: int) -> str:
    return " ".join(draw.choice(WORDS) for _ in range(words))


def _measure(storage: StorageManager) -> dict:
    draw = random.Random(2026)
    for name in ("Searched", "Plain"):      # both tables as large when written to
        for start in range(0, ARTICLES, 2000):
            storage.apply(json.dumps([{"op": "create", "object": name,
                                       "values": {"question": _text(draw, 8), "answer": _text(draw, 40)}}
                                      for _ in range(min(2000, ARTICLES - start))]), results="count")
    queries = [(draw.choice(WORDS), draw.choice(WORDS)) for _ in range(SEARCHES)]

    def searching() -> None:
        for first, second in queries:
            storage.search("Searched", "faq", f"{first} {second}", limit=20)

    def filtering() -> None:
        for first, second in queries:
            storage.query("Searched", {"and": [{"or": [{"field": "question", "op": "contains", "value": word},
                                                       {"field": "answer", "op": "contains", "value": word}]}
                                               for word in (first, second)]}, limit=20)

    found = sum(len(storage.search("Searched", "faq", f"{a} {b}", limit=20)) for a, b in queries)
    seconds, ratios = rounds({"filter": [filtering] * ROUNDS, "search": [searching] * ROUNDS}, "filter",
                             time.process_time)

    def creating(name: str):
        def create_all() -> None:
            for _ in range(CREATES):
                storage.create(name, {"question": _text(draw, 8), "answer": _text(draw, 40)})
        return create_all

    writes, write_ratios = rounds({"plain": [creating("Plain")] * ROUNDS, "searched": [creating("Searched")] * ROUNDS},
                                  "plain", time.process_time)
    results = {"articles": ARTICLES, "searches": SEARCHES, "found": found,
               "search_seconds": round(seconds["search"], 4), "filter_seconds": round(seconds["filter"], 4),
               "search_ratio": round(ratios["search"], 3), "creates": CREATES,
               "create_seconds": round(writes["searched"], 3), "plain_create_seconds": round(writes["plain"], 3),
               "create_ratio": round(write_ratios["searched"], 2)}
    print(f"{SEARCHES} searches over {ARTICLES:,} articles ({found} hits on their first pages): "
          f"{seconds['search']:.4f} s, {ratios['search']:.3f} x the same words as contains filters "
          f"({seconds['filter']:.3f} s; target <= 0.1); {CREATES} creates with the search's index: "
          f"{writes['searched']:.3f} s, {write_ratios['searched']:.2f} x without ({writes['plain']:.3f} s; "
          "target <= 1.5)", flush=True)
    return results
