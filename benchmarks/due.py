"""Due rules: what a sweep of the storage service costs when nothing is due any more.

10,000 tasks of the default model whose due date has passed, each already handled by
a due rule (so a sweep runs nothing): ``run_due_rules()`` against the reference, a
``query`` reading the same past-due tasks in pages of 500. The sweep also looks up each
task's mark in ``caruso_due_runs``; the ratio shows what that adds. Measured in rounds
on one SQLite file, the ratio's median reported. Target: ratio <= 3.
"""
from __future__ import annotations

from benchmarks._kit import in_process_storage, rounds
from caruso_storage.service import StorageManager

TASKS = 10_000
PAGE = 500
ROUNDS = 7
MODEL = """<model name="bench">
  <object name="Task" table="task">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="subject" type="string" length="300" required="true"/>
    <attribute name="assignee" type="string" length="80"/>
    <attribute name="due" type="date"/>
    <attribute name="done" type="boolean" default="false"/>
    <rule name="overdue" on="due" at="due">
      <when><test field="done" op="eq" value="false"/></when>
      <action use="notify" to="team-lead"><set field="message">${subject} is overdue</set></action>
    </rule>
  </object>
</model>
"""


def run() -> dict:
    return in_process_storage(MODEL, "due.db", _measure)


def _measure(storage: StorageManager) -> dict:
    storage.apply([{"op": "create", "object": "Task",
                    "values": {"subject": f"task {n}", "due": f"2026-01-{1 + n % 28:02d}"}} for n in range(TASKS)],
                  results="count")
    print(f"first sweep over {TASKS:,} past-due tasks ...", flush=True)
    assert storage.run_due_rules() == TASKS
    past = {"field": "due", "op": "lt", "value": "2026-02-01"}

    def read_all() -> None:
        offset = 0
        while len(storage.query("Task", past, limit=PAGE, offset=offset)) == PAGE:
            offset += PAGE

    seconds, ratios = rounds({"query": [read_all] * ROUNDS, "sweep": [storage.run_due_rules] * ROUNDS}, "query")
    results = {"tasks": TASKS, "query_seconds": round(seconds["query"], 3),
               "sweep_seconds": round(seconds["sweep"], 3), "sweep_ratio": round(ratios["sweep"], 2)}
    print(f"sweep with nothing due over {TASKS:,} past-due tasks: {seconds['sweep']:.3f} s, "
          f"{ratios['sweep']:.2f} x reading them with query ({seconds['query']:.3f} s; target <= 3)", flush=True)
    return results
