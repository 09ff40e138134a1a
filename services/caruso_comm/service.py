"""The communication server as a caruso service (``caruso.comm/1``): the facade of its parts.

It builds the parts, takes them through the host's lifecycle (:mod:`caruso_comm.lifecycle`)
and hands each client operation to the part that does it: the desk, the channels, the
campaigns, the IVR, the live feed. One lock serializes all work on
the ACD (:mod:`caruso_comm.serial`); every part takes it the same way, ``with lock:``.
"""
from __future__ import annotations

import time
from typing import Any

from caruso_core import HostContext, remote, service, zones
from caruso_core.deployment import default_sqlite_url

from caruso_comm import handover
from caruso_comm.acd import ACD
from caruso_comm.channel import Channels
from caruso_comm.channels.transcript import Transcripts
from caruso_comm.delegation import delegate
from caruso_comm.desk import Desk
from caruso_comm.dialer import STANDARD, DialerContext, Dialers
from caruso_comm.eventlog import EventLog
from caruso_comm.events import SERVER, SIGNED, Event
from caruso_comm.feed import EventFeed
from caruso_comm.history import ContactHistory
from caruso_comm.ivr import Ivr, menus_from
from caruso_comm.lifecycle import Lifecycle
from caruso_comm.model import queue_from_dict
from caruso_comm.outbound import Outbound
from caruso_comm.peers import Peers
from caruso_comm.records import CommRecords
from caruso_comm.recovery import Recovery
from caruso_comm.serial import Serial
from caruso_comm.timers import Timers
from caruso_comm.voicemail import VoicemailBox


@service(name="comm", interface="caruso.comm/1", version="0.1.0", autostart=True)
class CommServer:
    """Configuration (docs/communication.md): ``queues``, ``db`` (event log URL; default ``comm.db``), ``ivr``,
    ``callback_queues``, ``feed_size``, ``channels``, ``contact_history``, ``persist``, ``opt_outs``, ``dialer``,
    ``reclaim_within``, ``timezone`` (of the campaigns' calling windows)."""

    def __init__(self, queues: list[dict[str, Any]] | None = None, db: str | None = None,
                 callback_queues: dict[str, str] | None = None, feed_size: int = 10_000,
                 channels: dict[str, dict[str, Any]] | None = None, contact_history: dict[str, str] | None = None,
                 ivr: dict[str, Any] | list[dict[str, Any]] | None = None, persist: bool = False,
                 opt_outs: dict[str, Any] | None = None, dialer: str = STANDARD, reclaim_within: float = 30.0,
                 timezone: str = "UTC", context: HostContext | None = None) -> None:
        zone = zones.zone(timezone, "comm timezone")
        context = context or HostContext.standalone("comm")
        peers = Peers(context.client)
        self._server = context.name
        self._log, self._feed = EventLog(db or default_sqlite_url("comm.db")), EventFeed(feed_size)
        self._timers, self._hand_over = Timers(time.time), handover.HandOver()
        self._serial = lock = Serial(self._timers, lambda: self._hand_over.serving, self.flush)
        self._acd = ACD(self._timers, self._record)
        self._voicemail = VoicemailBox(self._acd, callback_queues)
        self._transcripts: dict[str, Transcripts] = {}
        self._persist = persist
        self._records = CommRecords(self._acd, peers.storage, voicemail=self._voicemail,
                                    campaigns=lambda: self._outbound.campaigns, transcripts=lambda: self._transcripts,
                                    held=lambda: self._hand_over.held) if persist else None
        dialers = DialerContext(self._timers, lock, context.client, lambda name: self._channels.running(name))
        self._outbound = Outbound(self._acd, Dialers(dialers, dialer), lock, peers.query, opt_outs, self._records,
                                  (contact_history or {}).get("object", "Customer"), zone)
        self._history = ContactHistory(contact_history["object"], peers.storage) if contact_history else None
        followers = (self._log.append, self._feed.publish, self._voicemail.observe, self._outbound.observe,
                     self._records.observe if self._records else None, self._history,
                     lambda event: self._channels.observe(event))
        self._followers = [follower for follower in followers if follower is not None]
        for definition in queues or ():
            self._acd.add_queue(queue_from_dict(definition))
        self._ivr = Ivr(self._acd, peers.scripts, menus_from(ivr), self._voicemail, lock)
        self._channels = Channels(self, context, channels or {})
        self._desk = Desk(self._acd, self._voicemail, self._channels, lock, self._records, self._outbound.call)
        self._recovery = Recovery(self._acd, self._log, self._record, self._voicemail, self._outbound,
                                  self._records, self._history, peers.query, lambda: self._channels.by_name,
                                  self.transcripts, reclaim_within, self._server)
        self._lifecycle = Lifecycle(self._hand_over, lock, self._timers, self._acd, self._log, self._feed,
                                    self._voicemail, self._ivr, self._outbound, self._channels, self._recovery,
                                    self._records, self._history, self.flush, self.transcripts)

    def _record(self, event: Event) -> None:
        """Every event, under the lock: to the log, the feed and the parts that follow events;
        those that say whose an interaction or agent is name this server (its registered name)."""
        if event.event in SIGNED:
            event = event._replace(data={**event.data, SERVER: self._server})
        for follower in self._followers:
            follower(event)

    def transcripts(self, channel: str) -> Transcripts:
        """The transcripts of the text channel ``channel``, written behind with ``persist`` (for channels)."""
        if channel not in self._transcripts:
            self._transcripts[channel] = Transcripts(noting=self._persist)
        return self._transcripts[channel]

    def reclaim(self, channel: str, held: list[str]) -> list[dict[str, Any]]:
        """``channel`` still holds the interactions ``held`` of those an earlier run left open
        and the cold start took back for it; the others end (see the channel contract in
        :mod:`caruso_comm.channel`). Returns the snapshots of those that go on (for channels)."""
        return self._lifecycle.reclaim(channel, held)

    def write_through(self) -> None:
        """:meth:`flush`, then send the records to the storage service before returning (those
        it cannot take now stay pending): for a channel about to tell a customer their message
        is taken, such as an e-mail's 250."""
        self.flush()
        if self._records is not None:
            self._records.flush()

    @remote
    def flush(self) -> None:
        """Write the records of what changed and the event log now (the tick does it every second)."""
        with self._serial:
            if self._records is not None:
                self._records.collect()
            self._log.flush()

    # -- lifecycle: the host's calls, carried out by caruso_comm.lifecycle -------------------

    def start(self) -> None:
        self._lifecycle.start()

    def stop(self) -> None:
        self._lifecycle.stop()

    def cold_start(self) -> None:
        self._lifecycle.cold_start()

    def export_state(self) -> dict[str, Any]:
        return self._lifecycle.export_state()

    def import_state(self, state: dict[str, Any]) -> None:
        self._lifecycle.import_state(state)

    def deactivate(self) -> None:
        self._lifecycle.deactivate()

    def resume(self) -> None:
        self._lifecycle.resume()

    def health(self) -> dict[str, Any]:
        with self._serial:
            return {"status": "ok", "agents": len(self._acd.agents), "interactions": len(self._acd.interactions)}

    # -- client operations, by the part that does them -------------------------------------

    login = delegate(Desk.login, "_desk")
    logout = delegate(Desk.logout, "_desk")
    set_status = delegate(Desk.set_status, "_desk")
    agent = delegate(Desk.agent, "_desk")
    accept = delegate(Desk.accept, "_desk")
    reject = delegate(Desk.reject, "_desk")
    complete = delegate(Desk.complete, "_desk")
    end_wrap_up = delegate(Desk.end_wrap_up, "_desk")
    transfer = delegate(Desk.transfer, "_desk")
    send = delegate(Desk.send, "_desk")
    arrive = delegate(Desk.arrive, "_desk")
    abandon = delegate(Desk.abandon, "_desk")
    interaction = delegate(Desk.interaction, "_desk")
    add_queue = delegate(Desk.add_queue, "_desk")
    queues = delegate(Desk.queues, "_desk")
    agents = delegate(Desk.agents, "_desk")
    waiting = delegate(Desk.waiting, "_desk")
    leave_voicemail = delegate(Desk.leave_voicemail, "_desk")
    voicemails = delegate(Desk.voicemails, "_desk")

    channels = delegate(Channels.info, "_channels")
    chat_pass = delegate(Channels.chat_pass, "_channels")
    messages = delegate(Channels.messages, "_channels")

    add_campaign = delegate(Outbound.add, "_outbound")
    campaigns = delegate(Outbound.summaries, "_outbound")
    campaign = delegate(Outbound.act, "_outbound")
    add_dnc = delegate(Outbound.add_dnc, "_outbound")

    ivrs = delegate(Ivr.describe, "_ivr")
    ivr_call = delegate(Ivr.call, "_ivr")
    ivr_press = delegate(Ivr.press, "_ivr")
    ivr_no_input = delegate(Ivr.no_input, "_ivr")
    ivr_message = delegate(Ivr.leave_message, "_ivr")
    ivr_hang_up = delegate(Ivr.hang_up, "_ivr")

    events = delegate(EventFeed.since, "_feed")
