"""The event log's published data contract: the table, the event tuple, the event names and
their fields.

The communication server writes the table ``comm_events``; the status monitor and reports
read it and import this module (and nothing else of ``caruso_comm``) to do so. A row is
never changed; ``id`` increases in append order (writers on several hosts may commit rows
out of id order); ``time`` is Unix seconds; ``data`` is a
JSON object holding some of the fields :data:`EVENTS` lists for the row's ``event``.

:data:`SCHEMA_VERSION` rises whenever a column, an event name or a field is removed or
changes meaning; adding an event or a field keeps it. docs/communication.md ("Event log")
documents every name and field; a test holds the two together.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

import sqlalchemy as sa

SCHEMA_VERSION = 1

metadata = sa.MetaData()
table = sa.Table(
    "comm_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False, index=True),
    sa.Column("interaction", sa.String(64), index=True),
    sa.Column("queue", sa.String(64)),
    sa.Column("agent", sa.String(64)),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)


class Event(NamedTuple):
    """One line of the event log (an immutable tuple, cheap to make on the routing path);
    ``id`` is its place in the log once written, None before."""

    time: float
    event: str
    interaction: str | None = None
    queue: str | None = None
    agent: str | None = None
    data: Mapping[str, Any] = MappingProxyType({})
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as plain data, without ``id``."""
        return {"time": self.time, "event": self.event, "interaction": self.interaction,
                "queue": self.queue, "agent": self.agent, "data": dict(self.data)}


class Spec(NamedTuple):
    """What an event sets: which of the columns ``interaction``, ``queue`` and ``agent``,
    and which fields its ``data`` may hold."""

    columns: frozenset[str]
    fields: frozenset[str]


def _spec(columns: str, fields: str = "") -> Spec:
    return Spec(frozenset(columns.split()), frozenset(fields.split()))


ENTER, OFFER, NO_ANSWER, REJECT, WITHDRAW = "enter", "offer", "no_answer", "reject", "withdraw"
CONNECT, TRANSFER, COMPLETE, WRAP_END = "connect", "transfer", "complete", "wrap_end"
ESCALATE, OVERFLOW, VOICEMAIL, ABANDON = "escalate", "overflow", "voicemail", "abandon"
AGENT_STATUS, AGENT_STATE, VOICEMAIL_MESSAGE = "agent_status", "agent_state", "voicemail_message"
CAMPAIGN_STATE, DIAL, DIAL_RESULT, DNC_SKIP, OPT_OUT_SKIP = (
    "campaign_state", "dial", "dial_result", "dnc_skip", "opt_out_skip")
IVR_START, IVR_END, IVR_ABANDON, RESTART = "ivr_start", "ivr_end", "ivr_abandon", "restart"
QUEUES = "queues"

EVENTS: Mapping[str, Spec] = MappingProxyType({
    ENTER: _spec("interaction queue", "channel direction customer priority from to transfer_from overflow_from server"),
    OFFER: _spec("interaction queue agent"),
    NO_ANSWER: _spec("interaction queue agent", "misses"),
    REJECT: _spec("interaction queue agent"),
    WITHDRAW: _spec("interaction queue agent", "reason"),
    CONNECT: _spec("interaction queue agent", "wait"),
    TRANSFER: _spec("interaction queue agent", "talk to_queue to_agent"),
    COMPLETE: _spec("interaction queue agent", "talk disposition"),
    WRAP_END: _spec("agent", "of seconds"),
    ESCALATE: _spec("interaction queue", "stage"),
    OVERFLOW: _spec("interaction queue", "reason to"),
    VOICEMAIL: _spec("interaction queue"),
    ABANDON: _spec("interaction queue", "reason wait"),
    AGENT_STATUS: _spec("agent", "status reason server"),
    AGENT_STATE: _spec("agent", "state"),
    VOICEMAIL_MESSAGE: _spec("interaction queue", "message caller customer"),
    CAMPAIGN_STATE: _spec("queue", "campaign state contacts"),
    DIAL: _spec("interaction queue", "campaign number attempt"),
    DIAL_RESULT: _spec("interaction queue", "campaign result"),
    DNC_SKIP: _spec("queue", "campaign number"),
    OPT_OUT_SKIP: _spec("queue", "campaign number"),
    IVR_START: _spec("interaction", "script session caller customer"),
    IVR_END: _spec("interaction", "script outcome target"),
    IVR_ABANDON: _spec("interaction", "script"),
    RESTART: _spec("", "closed logged_out kept open_from server"),
    QUEUES: _spec("", "queues"),
})

SERVER = "server"
SIGNED = (ENTER, AGENT_STATUS, RESTART)               # name the server that wrote them in their field server
ENDINGS = (COMPLETE, ABANDON, VOICEMAIL)              # an interaction ends with exactly one
OFFER_ENDINGS = (CONNECT, WITHDRAW, NO_ANSWER, REJECT)  # an offer ends with exactly one
