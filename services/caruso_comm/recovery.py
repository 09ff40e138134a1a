"""Recovery at a cold start: taking up what earlier runs left.

When an instance becomes active without a predecessor's state (docs/communication.md,
"Event log", "The model in the storage manager" and "Channels"):

1. with ``persist``, :meth:`Recovery.read` reads the stored queues, agents, do-not-call
   list, campaigns with their contacts, the voicemail not called back and the messages of
   the interactions the event log shows open; outside the server's lock, since the storage
   service may be slow;
2. :meth:`Recovery.recover`, under the lock, reads what the event log shows an earlier run
   left open (:mod:`caruso_comm.restart`). With ``persist``, the interactions of running
   channels are taken back (waiting ones wait again with their time of arrival, connected
   ones stay with their agent), their transcripts loaded, and the agents logged in then
   stay logged in (stored skills and capacity, the status they had); everything else is
   ended with reason ``restart`` and its agents logged out. It writes a ``restart`` event
   and takes up the stored records: queues not configured are defined again, other agents
   become known as logged out, the do-not-call list comes back, campaigns come back in
   their stored state (an active one paused), messages are held again and their callback
   tasks routed again (same ids);
3. each channel then says which of its interactions taken back it still holds
   (:meth:`Recovery.reclaim`), at once or from its own thread; the others, and all of a
   channel that has not said so within ``within`` seconds, end with reason ``restart``.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Collection, Mapping

from caruso_core.errors import ConfigError, NotFound

from caruso_comm.acd import ACD
from caruso_comm.campaign import CampaignState
from caruso_comm.channels.transcript import Transcripts
from caruso_comm.eventlog import EventLog
from caruso_comm.events import RESTART, Event
from caruso_comm.history import ContactHistory
from caruso_comm.model import AgentStatus, InteractionState, queue_from_dict
from caruso_comm.outbound import Outbound
from caruso_comm.peers import Query
from caruso_comm.records import (AGENT, CAMPAIGN, CONTACT, DNC, INTERACTION, MESSAGE, QUEUE, VOICEMAIL, CommRecords,
                                 stored_campaign, stored_message, stored_voicemail)
from caruso_comm.restart import LeftOver, Open, close, left_over, logged_out, open_ids, withdraw
from caruso_comm.voicemail import VoicemailBox

log = logging.getLogger(__name__)
Stored = dict[str, list[dict[str, Any]]]
CHUNK = 500           # interactions per query of their messages


class Recovery:
    """Takes up, on the server's parts, what earlier runs left; ``record`` is the server's
    event sink, ``query`` runs a storage query to its last record, ``channels()`` names the
    running channels, ``transcripts(channel)`` is a text channel's transcripts, ``within`` the
    seconds a channel has to say which interactions it holds."""

    def __init__(self, acd: ACD, log: EventLog, record: Callable[[Event], None], voicemail: VoicemailBox,
                 outbound: Outbound, records: CommRecords | None, history: ContactHistory | None,
                 query: Query, channels: Callable[[], Collection[str]], transcripts: Callable[[str], Transcripts],
                 within: float, server: str) -> None:
        self.acd, self.log, self.record, self.query = acd, log, record, query
        self.voicemail, self.outbound, self.records, self.history = voicemail, outbound, records, history
        self.channels, self.transcripts, self.within, self.server = channels, transcripts, within, server
        self._unclaimed: dict[str, set[str]] = {}

    def read(self) -> Stored | None:
        """With ``persist``, the stored records by object: queues, agents, do-not-call list,
        campaigns and their contacts, voicemail not called back, the messages of the
        interactions left open; else None."""
        if self.records is None:
            return None
        new = {"field": "state", "value": "new"}
        stored = {kind: self.query({"object": kind, "where": new if kind == VOICEMAIL else None})
                  for kind in (QUEUE, AGENT, DNC, CAMPAIGN, CONTACT, VOICEMAIL)}
        left = open_ids(self.log, self.server)
        stored[MESSAGE] = [record for start in range(0, len(left), CHUNK) for record in self.query(
            {"object": MESSAGE, "where": {"field": "interaction", "op": "in", "value": left[start:start + CHUNK]}})]
        return stored

    def recover(self, stored: Stored | None) -> None:
        """Take back or end what the log shows open, then take up ``stored`` (None without ``persist``)."""
        self.log.flush()
        self._unclaimed = {}
        keep = {r["callback"] for r in stored[VOICEMAIL]} if stored else set()
        logged_in = {a.id for a in self.acd.agents.values() if a.status != AgentStatus.LOGGED_OUT}
        left = left_over(self.log, self.server, set(self.acd.interactions), keep, logged_in)
        for event in left.withdrawn:
            self.record(event)
        if stored is not None:
            self._define_queues(self.records.load(stored[QUEUE], stored[AGENT]))
        kept_agents = self._agents_kept(left, stored)
        taken, ended = self._split(left.open, kept_agents, stored is not None)
        for found in ended:
            self._end(found, left.at)
        gone = sorted(set(left.logged_in) - kept_agents)
        for agent in gone:
            self.record(logged_out(agent, left.at))
        entered = [found.entered_id for found in taken] + left.live_entered
        self.record(Event(time.time(), RESTART, data={         # the next cold start reads from here
            "closed": len(ended), "logged_out": len(gone), "kept": len(taken),
            **({"open_from": min(entered) - 1} if entered else {})}))
        if taken:
            self._take_back(taken, stored)
        for agent in sorted(kept_agents):
            self._keep_logged_in(left.logged_in[agent], stored)
        if stored is not None:
            self._take_up(stored)
        if self._unclaimed:
            self.acd.timers.at(self.acd.timers.clock() + self.within, self.expire)

    def _agents_kept(self, left: LeftOver, stored: Stored | None) -> set[str]:
        """The agents logged in when the earlier run ended who stay logged in: with ``persist``,
        those with a stored record."""
        if stored is None:
            return set()
        known = {record["id"] for record in stored[AGENT]}
        return {agent for agent in left.logged_in if agent in known and agent in self.acd.agents}

    def _split(self, left: list[Open], agents: set[str], persist: bool) -> tuple[list[Open], list[Open]]:
        """The interactions to take back (with ``persist``: of a running channel, in a queue
        that exists, a connected one with its agent staying logged in) and those to end."""
        running = set(self.channels())
        taken, ended = [], []
        for found in left:
            interaction = found.interaction
            if persist and interaction.channel in running and interaction.queue in self.acd.queues and (
                    interaction.state != InteractionState.CONNECTED or interaction.agent in agents):
                taken.append(found)
            else:
                ended.append(found)
        return taken, ended

    def _end(self, found: Open, at: float) -> None:
        interaction = found.interaction
        if self.history is not None:
            self.history.known(interaction)
        for event in withdraw(interaction, found.offers, at) + [close(interaction, at)]:
            self.record(event)
        if self.records is not None:
            self.records.closed(interaction, RESTART if interaction.state == InteractionState.COMPLETED else None)

    def _take_back(self, taken: list[Open], stored: Stored) -> None:
        interactions = [found.interaction for found in taken]
        channel_of = {interaction.id: interaction.channel for interaction in interactions}
        messages: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
        for record in stored[MESSAGE]:
            if record["interaction"] in channel_of:
                messages.setdefault(channel_of[record["interaction"]], []).append(stored_message(record))
        for channel, loaded in messages.items():
            self.transcripts(channel).load(loaded)
        for interaction in interactions:
            if self.history is not None:
                self.history.known(interaction)
            self._unclaimed.setdefault(interaction.channel, set()).add(interaction.id)
        self.records.taken_back(interactions)
        self.acd.take_back([(found.interaction, found.offers) for found in taken])

    def _keep_logged_in(self, status: Event, stored: Stored) -> None:
        """The agent of ``status`` (its last ``agent_status``) stays logged in: logged in again
        with that status and its stored skills, capacity and counters."""
        record = next(r for r in stored[AGENT] if r["id"] == status.agent)
        agent = self.acd.login(status.agent, status=status.data["status"], reason=status.data.get("reason") or "")
        agent.calls, agent.talk_time = record.get("calls") or 0, record.get("talk_time") or 0.0
        self.records.changed_agent(agent.id)

    def unclaimed(self) -> dict[str, list[dict[str, Any]]]:
        """By channel, the interactions taken back that it has not said it holds (snapshots)."""
        return {channel: [self.acd.interactions[i].snapshot() for i in sorted(ids) if i in self.acd.interactions]
                for channel, ids in self._unclaimed.items()}

    def reclaim(self, channel: str, held: Collection[str]) -> list[dict[str, Any]]:
        """``channel`` holds the interactions ``held`` of those taken back for it: they go on;
        its others end now with reason ``restart`` (see :meth:`ACD.abandon`; a connected one
        completes with disposition ``restart``). Once per channel and cold start: later calls
        find nothing. Returns the snapshots of the interactions that go on."""
        pending, held = self._unclaimed.pop(channel, set()), set(held)
        for interaction_id in sorted(pending - held):
            interaction = self.acd.interactions.get(interaction_id)
            if interaction is None:
                continue                                  # ended meanwhile
            if interaction.state == InteractionState.CONNECTED:
                self.acd.complete(interaction.agent, interaction_id, RESTART)
            else:
                self.acd.abandon(interaction_id, RESTART)
        return [self.acd.interactions[i].snapshot() for i in sorted(pending & held) if i in self.acd.interactions]

    def export_state(self) -> dict[str, list[str]]:
        """For a hot-swap: by channel, the interactions taken back that it has not said it holds."""
        return {channel: sorted(ids) for channel, ids in self._unclaimed.items()}

    def import_state(self, unclaimed: Mapping[str, list[str]]) -> None:
        """Wait, as the predecessor that exported ``unclaimed`` did, for channels to say which
        they hold (``within`` seconds from now)."""
        self._unclaimed = {channel: set(ids) for channel, ids in unclaimed.items() if ids}
        if self._unclaimed:
            self.acd.timers.at(self.acd.timers.clock() + self.within, self.expire)

    def expire(self) -> None:
        """The time for channels to say what they hold is over: what they did not say ends."""
        for channel in sorted(self._unclaimed):
            self.reclaim(channel, ())

    def _take_up(self, stored: Stored) -> None:
        records = self.records
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
