"""The communication server's lifecycle steps (``start``, ``stop``, ``cold_start``,
``export_state``, ``import_state``, ``deactivate``, ``resume``) carried out over its parts.

Which step may follow which is :mod:`caruso_comm.handover`'s state machine; what a cold
start takes back is :mod:`caruso_comm.recovery`'s. Every step that touches the ACD holds
the server's lock; channels are told outside it, since they may call the server.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import attrs

from caruso_comm import handover
from caruso_comm.acd import ACD
from caruso_comm.channel import Channels
from caruso_comm.eventlog import EventLog
from caruso_comm.feed import EventFeed
from caruso_comm.history import ContactHistory
from caruso_comm.ivr import Ivr
from caruso_comm.outbound import Outbound
from caruso_comm.records import CommRecords
from caruso_comm.recovery import Recovery
from caruso_comm.serial import Serial
from caruso_comm.channels.transcript import Transcripts
from caruso_comm.timers import Timers
from caruso_comm.voicemail import VoicemailBox


HANDED_BYTES = 8 * 2 ** 20        # of transcripts' text in a hot-swap's state (the wire takes 32 MiB)
log = logging.getLogger("caruso.comm")


@attrs.define(eq=False)
class Lifecycle:
    """The steps over the parts of one server; ``flush`` writes its records and event log now."""

    hand_over: handover.HandOver
    serial: Serial
    timers: Timers
    acd: ACD
    log: EventLog
    feed: EventFeed
    voicemail: VoicemailBox
    ivr: Ivr
    outbound: Outbound
    channels: Channels
    recovery: Recovery
    records: CommRecords | None
    history: ContactHistory | None
    flush: Callable[[], None]
    transcripts: Callable[[str], Transcripts]

    def start(self) -> None:
        for part in (self.records, self.history, self.channels, self.serial, self.outbound):
            if part is not None:
                part.start()

    def stop(self) -> None:
        for part in (self.outbound, self.channels, self.serial, self.history):
            if part is not None:
                part.stop()
        self.flush()                      # records of what changed since the last tick
        if self.records is not None:
            self.records.stop()
        self.log.close()

    def cold_start(self) -> None:
        """Active without a predecessor's state: stored records are read now, not at
        :meth:`start`, which a standby also runs."""
        stored = self.recovery.read()
        with self.serial:
            if self.hand_over.move(handover.COLD_START) == handover.RETIRED:
                self._forget_work()
            self.recovery.recover(stored)
            self.acd.announce_queues()
            unclaimed = self.recovery.unclaimed()
        for channel, interactions in unclaimed.items():
            held = self.channels.held(channel, interactions)
            if held is not None:
                self.reclaim(channel, held)
        self._activate_channels()

    def reclaim(self, channel: str, held: list[str]) -> list[dict[str, Any]]:
        """See :meth:`caruso_comm.service.CommServer.reclaim`."""
        with self.serial:
            return self.recovery.reclaim(channel, held)

    def export_state(self) -> dict[str, Any]:
        """Queues, agents, live interactions, IVR calls, voicemail, campaigns, the feed's position,
        the records not written yet, the interactions a cold start took back that their channels
        have not claimed yet, the channels' work and the transcripts of the live interactions;
        timers and records wait from now on."""
        with self.serial:
            self.hand_over.move(handover.EXPORT)
        channels = self.channels.export_state()          # outside the lock: they finish their queued work
        with self.serial:
            self.log.flush()
            return {"acd": self.acd.export_state(), "feed": self.feed.last, "ivr": self.ivr.export_state(),
                    "transcripts": self._handed_transcripts(),
                    "voicemail": [m.to_dict() for m in self.voicemail.messages()], "channels": channels,
                    "records": None if self.records is None else self.records.export_state(),
                    "unclaimed": self.recovery.export_state(), **self.outbound.export_state()}

    def _handed_transcripts(self) -> dict[str, list[Any]]:
        """The messages of the live interactions, by channel, up to ``HANDED_BYTES`` of text in
        all (the state crosses the wire in one message): an interaction beyond it is handed
        over without its transcript (logged)."""
        handed: dict[str, list[Any]] = {}
        size, left = 0, 0
        for interaction in self.acd.interactions.values():
            messages = self.transcripts(interaction.channel).export([interaction.id])
            text = sum(len(str(message.get("text", ""))) for _, _, message in messages)
            if size + text > HANDED_BYTES:
                left += 1
                continue
            size += text
            if messages:
                handed.setdefault(interaction.channel, []).extend(messages)
        if left:
            log.warning("%d live interaction(s) handed over without their transcripts (over %d bytes of text)",
                        left, HANDED_BYTES)
        return handed

    def deactivate(self) -> None:
        """A swap moved the work away: records handed over are the successor's to write; the
        channels stop taking customers (the successor's take them)."""
        with self.serial:
            if self.hand_over.held and self.records is not None:
                self.records.drop_pending()
            self.hand_over.move(handover.DEACTIVATE)
        self.channels.deactivate()

    def resume(self) -> None:
        with self.serial:
            self.hand_over.move(handover.RESUME)
        self.channels.resume()

    def import_state(self, state: dict[str, Any]) -> None:
        """Take over from the instance that exported ``state`` (see ``ACD.import_state``)."""
        with self.serial:
            if self.hand_over.move(handover.IMPORT) != handover.ACTIVE:
                self._forget_work()
            self.feed.continue_from(state["feed"])
            self.voicemail.restore(state["voicemail"])
            self.acd.import_state(state["acd"])
            self.ivr.import_state(state["ivr"])
            self.outbound.import_state(state, written=state["records"] is not None)
            if self.records is not None and state["records"] is not None:
                self.records.import_state(state["records"])
            self.recovery.import_state(state.get("unclaimed", {}))
            for name, messages in state.get("transcripts", {}).items():
                self.transcripts(name).load(messages)
            self.acd.announce_queues()
        self.channels.import_state(state.get("channels", {}))
        self._activate_channels()

    def _activate_channels(self) -> None:
        """The channels take customers; if one cannot (its port held by another program), the
        instance gives the work up again (retired: no timers, no records) and the step fails."""
        try:
            self.channels.activate()
        except BaseException:
            self.deactivate()
            raise

    def _forget_work(self) -> None:
        """Drop the work a swap handed to another instance; keep the queue definitions."""
        self.timers.clear()
        self.acd.forget_work()
        if self.records is not None:
            self.records.forget()
        self.ivr.import_state([])
        self.voicemail.restore([])
        self.outbound.forget()
