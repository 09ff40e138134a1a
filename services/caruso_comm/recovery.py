"""Recovery at a cold start: taking up what earlier runs left.

When an instance becomes active without a predecessor's state (docs/communication.md,
"Event log" and "The model in the storage manager"):

1. with ``persist``, :meth:`Recovery.read` reads the stored queues, agents, do-not-call
   list, campaigns with their contacts, and the voicemail not called back; outside the
   server's lock, since the storage service may be slow;
2. :meth:`Recovery.recover`, under the lock, closes what the event log shows an earlier run
   left open (:mod:`caruso_comm.restart`), but the callback tasks of that voicemail, writes
   a ``restart`` event, and takes up the stored records: queues not configured are defined
   again, agents become known as logged out, the do-not-call list comes back, campaigns
   come back in their stored state (an active one paused), messages are held again and
   their callback tasks routed again (same ids).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from caruso_core.errors import ConfigError, NotFound

from caruso_comm.acd import ACD
from caruso_comm.campaign import CampaignState
from caruso_comm.eventlog import EventLog
from caruso_comm.events import RESTART, Event
from caruso_comm.history import ContactHistory
from caruso_comm.model import AgentStatus, InteractionState, queue_from_dict
from caruso_comm.outbound import Outbound
from caruso_comm.peers import Query
from caruso_comm.records import (AGENT, CAMPAIGN, CONTACT, DNC, INTERACTION, QUEUE, VOICEMAIL, CommRecords,
                                 stored_campaign, stored_voicemail)
from caruso_comm.restart import left_over
from caruso_comm.voicemail import VoicemailBox

log = logging.getLogger(__name__)
Stored = dict[str, list[dict[str, Any]]]


class Recovery:
    """Takes up, on the server's parts, what earlier runs left; ``record`` is the server's
    event sink, ``query`` runs a storage query to its last record."""

    def __init__(self, acd: ACD, log: EventLog, record: Callable[[Event], None], voicemail: VoicemailBox,
                 outbound: Outbound, records: CommRecords | None, history: ContactHistory | None,
                 query: Query) -> None:
        self.acd, self.log, self.record, self.query = acd, log, record, query
        self.voicemail, self.outbound, self.records, self.history = voicemail, outbound, records, history

    def read(self) -> Stored | None:
        """With ``persist``, the stored records by object: queues, agents, do-not-call list,
        campaigns and their contacts, voicemail not called back; else None."""
        if self.records is None:
            return None
        new = {"field": "state", "value": "new"}
        return {kind: self.query({"object": kind, "where": new if kind == VOICEMAIL else None})
                for kind in (QUEUE, AGENT, DNC, CAMPAIGN, CONTACT, VOICEMAIL)}

    def recover(self, stored: Stored | None) -> None:
        """Close what the log shows open, then take up ``stored`` (None without ``persist``)."""
        self._close_left_open(keep={r["callback"] for r in stored[VOICEMAIL]} if stored else set())
        if stored is not None:
            self._take_up(stored)

    def _close_left_open(self, keep: set[str]) -> None:
        """Close the interactions the event log shows open, but those the ACD holds (channels
        start before the cold start) and those in ``keep`` (their offers still ringing are
        withdrawn); their records get the final state. Log out the agents it shows logged in
        but not logged in to the ACD. Then a ``restart`` event."""
        self.log.flush()
        logged_in = {a.id for a in self.acd.agents.values() if a.status != AgentStatus.LOGGED_OUT}
        left = left_over(self.log, set(self.acd.interactions), keep, logged_in)
        for event in left.withdrawn:
            self.record(event)
        for interaction, events in left.closed:
            if self.history is not None:
                self.history.known(interaction)
            for event in events:
                self.record(event)
            if self.records is not None:
                self.records.closed(interaction, RESTART if interaction.state == InteractionState.COMPLETED
                                    else None)
        for event in left.logged_out:
            self.record(event)
        self.record(Event(time.time(), RESTART, data={"closed": len(left.closed),
                                                      "logged_out": len(left.logged_out)}))

    def _take_up(self, stored: Stored) -> None:
        records = self.records
        self._define_queues(records.load(stored[QUEUE], stored[AGENT]))
        for queue in self.acd.queues.values():
            records.changed_queue(queue)
        dnc = [record["number"] for record in stored[DNC]]
        records.note_stored(DNC, dnc)
        contacts_of: dict[str, list[dict[str, Any]]] = {}
        for contact in stored[CONTACT]:
            contacts_of.setdefault(contact["campaign"], []).append(contact)
        held = self.outbound.take_up([(stored_campaign(record, contacts_of.get(record["name"], [])),
                                       record["state"] != CampaignState.ACTIVE)   # else stored as paused
                                      for record in stored[CAMPAIGN]], dnc)
        records.note_stored(CAMPAIGN, held)
        records.note_stored(CONTACT, (c["id"] for name in held for c in contacts_of.get(name, [])))
        messages = [stored_voicemail(record) for record in stored[VOICEMAIL]]
        for message in self.voicemail.load(messages):
            log.error("voicemail %s (queue %s): its callback queue does not exist; "
                      "the callback task is not routed", message.id, message.queue)
        records.note_stored(VOICEMAIL, (m.id for m in messages))
        records.note_stored(INTERACTION, (m.callback for m in messages))

    def _define_queues(self, definitions: list[dict[str, Any]]) -> None:
        """Define the stored queues, in an order where overflow and escalation targets come first."""
        while definitions:
            waiting = []
            for definition in definitions:
                try:
                    self.acd.add_queue(queue_from_dict(definition))
                except (ConfigError, NotFound):
                    waiting.append(definition)
            if len(waiting) == len(definitions):
                raise ConfigError(f"comm: stored queues {', '.join(d['name'] for d in waiting)} "
                                  "name queues that do not exist (overflow or escalation)")
            definitions = waiting
