"""The outbox: what writing a rule's call with the change costs.

Creating objects whose rule calls a service (a row of ``caruso_outbox`` written in the
same transaction, nothing sent: the storage is not started, so no delivery competes)
against the reference, creating objects whose rule only notifies (the same rule
machinery and rule-log row, no outbox row), and against objects without rules; one
call each, on one SQLite file, in rounds, the ratios' medians reported. Target: the
outbox row adds at most half (ratio to notify <= 1.5).
"""
from __future__ import annotations

from benchmarks._kit import in_process_storage, rounds
from caruso_storage.service import StorageManager

CHANGES = 200
ROUNDS = 7
MODEL = """<model name="bench">
  <object name="Plain" table="plain">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="title" type="string" length="200" required="true"/>
    <attribute name="remote_no" type="string" length="64"/>
  </object>
  <object name="Notifying" table="notifying">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="title" type="string" length="200" required="true"/>
    <attribute name="remote_no" type="string" length="64"/>
    <rule name="tell" on="create">
      <action use="notify" to="bench"><set field="message">calling-${id} ${title}</set></action>
    </rule>
  </object>
  <object name="Calling" table="calling">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="title" type="string" length="200" required="true"/>
    <attribute name="remote_no" type="string" length="64"/>
    <rule name="hand_off" on="create">
      <action use="call" interface="bench.remote/1" method="place" result="remote_no=number">
        <set field="reference">calling-${id}</set>
        <set field="title">${title}</set>
      </action>
    </rule>
  </object>
</model>
"""


def run() -> dict:
    return in_process_storage(MODEL, "outbox.db", _measure)


def _measure(storage: StorageManager) -> dict:
    def creating(name: str):
        def create_all() -> None:
            for number in range(CHANGES):
                storage.create(name, {"title": f"order {number}"})
        return create_all

    seconds, ratios = rounds({"notify": [creating("Notifying")] * ROUNDS, "plain": [creating("Plain")] * ROUNDS,
                              "calling": [creating("Calling")] * ROUNDS}, "notify")
    written = len(storage.outbox(limit=10_000))
    assert written == CHANGES * ROUNDS, written
    results = {"changes": CHANGES, "notify_seconds": round(seconds["notify"], 3),
               "plain_seconds": round(seconds["plain"], 3), "calling_seconds": round(seconds["calling"], 3),
               "call_ratio": round(ratios["calling"], 2), "plain_ratio": round(ratios["plain"], 2)}
    print(f"{CHANGES} creates whose rule writes an outbox row: {seconds['calling']:.3f} s, {ratios['calling']:.2f} x "
          f"the same creates whose rule notifies ({seconds['notify']:.3f} s; target <= 1.5); creates without a rule: "
          f"{seconds['plain']:.3f} s, {ratios['plain']:.2f} x", flush=True)
    return results
