"""The monitor reads only what the communication server publishes of its event log
(caruso_comm.events): the table's columns, and of each event the fields published for it."""
from __future__ import annotations

from typing import Any

from caruso_comm.eventlog import EventLog
from caruso_comm.events import EVENTS, Event, table
from caruso_monitor.feed import Feed
from caruso_monitor.picture import Picture

# every published event once, in an order that takes an interaction through queue, offers,
# connection, transfer and end, and a campaign call from dial to agent
LIFE = ["queues", "agent_status", "agent_state", "enter", "offer", "no_answer", "reject", "withdraw", "escalate", "connect",
        "transfer", "complete", "wrap_end", "overflow", "voicemail", "voicemail_message", "abandon",
        "campaign_state", "dnc_skip", "opt_out_skip", "dial", "dial_result", "ivr_start", "ivr_end",
        "ivr_abandon", "restart"]
VALUES = {"status": "available", "state": "busy", "result": "answered", "contacts": 3, "wait": 4.0,
          "talk": 60.0, "seconds": 5.0, "misses": 1, "stage": 1, "attempt": 1, "priority": 0, "closed": 0,
          "logged_out": 0, "queues": [{"name": "sales", "channel": "voice", "sl_target": 20}]}
ROWS = {"interaction": "c1", "queue": "sales", "agent": "ann"}


class Fields(dict):
    """The data of one event; notes each field read, as ``(event, field)``."""

    def __init__(self, event: str, data: dict[str, Any], read: set[tuple[str, str]]) -> None:
        super().__init__(data)
        self.event, self.read = event, read

    def __getitem__(self, field: str) -> Any:
        self.read.add((self.event, field))
        return super().__getitem__(field)

    def get(self, field: str, default: Any = None) -> Any:
        self.read.add((self.event, field))
        return super().get(field, default)

    def __contains__(self, field: object) -> bool:
        self.read.add((self.event, str(field)))
        return super().__contains__(field)


def test_the_picture_reads_only_the_fields_published_for_each_event():
    assert sorted(LIFE) == sorted(EVENTS)
    picture, read = Picture(), set()
    for number, name in enumerate(LIFE, start=1):
        spec = EVENTS[name]
        data = {field: VALUES.get(field, "x") for field in spec.fields}
        picture.apply(Event(1000.0 + number, name, **{column: ROWS[column] for column in spec.columns},
                            data=Fields(name, data, read), id=number))
    assert read, "the picture read no field at all"
    assert {(event, field) for event, field in read if field not in EVENTS[event].fields} == set()
    assert {"status", "state", "wait", "campaign", "contacts", "result"} <= {field for _, field in read}


def test_the_feed_reads_the_published_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    log = EventLog(url)
    log.append(Event(1000.0, "enter", "c1", "sales", data={"channel": "voice"}))
    log.close()
    feed = Feed(url)
    (read,) = feed.read()
    feed.close()
    assert read == Event(1000.0, "enter", "c1", "sales", None, {"channel": "voice"}, 1)
    assert {column.name for column in table.columns} == set(Event._fields)
