"""Queues, agents, interactions, voicemail and campaigns as business objects of the storage
service, written behind.

The objects are those of the model module ``comm`` (``CommQueue``, ``CommAgent``,
``CommInteraction``, ``CommVoicemail``, ``CommCampaign``, ``CommCampaignContact``,
``CommDoNotCall``, ``CommMessage``; ``model_module.xml``), which the storage model includes. Routing never waits for the
storage service:

- :meth:`CommRecords.observe` (for each event, under the server's lock) only notes which
  agent and interaction changed; voicemail boxes, campaigns and the transcripts of text
  channels note their own changes;
- :meth:`CommRecords.collect` (under the same lock, once a second from the server's timer
  thread) copies what changed into records, the latest state per key (a campaign's
  definition, with its do-not-call list, only when it changed: otherwise its state and
  counters are merged over a pending record);
- a writer thread converts them to storage values and sends them with ``apply`` in
  batches of ``batch`` operations. Records that cannot be sent while the storage service is unreachable are
  kept (a newer record of the same key replaces them); a batch the storage service refuses
  is sent again one operation at a time, a create of an existing key becoming an update
  and an update of a missing one a create; an operation still refused is logged and dropped.

In a hot-swap :meth:`CommRecords.export_state` hands the records not written yet to the
successor but keeps them, unsent while ``held()`` says the hand-over lasts (the server's
:mod:`caruso_comm.handover` state): :meth:`CommRecords.drop_pending` drops them when the swap
happened (the successor writes them); once the hand-over ends otherwise they are written
here. Every write is a create or update of the whole record by key, so a record written
twice is harmless; a newer one of the same key replaces a kept one.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
from typing import Any, Callable, Iterable, Mapping

import attrs

from caruso_core.errors import CarusoError, ConfigError, Conflict, NotFound

from caruso_comm.acd import ACD
from caruso_comm.campaign import Campaign, CampaignState
from caruso_comm.dialer import STANDARD
from caruso_comm.events import COMPLETE, Event
from caruso_comm.history import UNREACHABLE
from caruso_comm.model import Agent, Interaction, InteractionState, Queue, utc_iso
from caruso_comm.voicemail import Voicemail, VoicemailBox

log = logging.getLogger(__name__)
QUEUE, AGENT, INTERACTION = "CommQueue", "CommAgent", "CommInteraction"
VOICEMAIL, CAMPAIGN, CONTACT = "CommVoicemail", "CommCampaign", "CommCampaignContact"
DNC, MESSAGE = "CommDoNotCall", "CommMessage"
OBJECTS = (QUEUE, AGENT, INTERACTION, VOICEMAIL, CAMPAIGN, CONTACT, DNC, MESSAGE)
KEYS = {QUEUE: "name", AGENT: "id", INTERACTION: "id", VOICEMAIL: "id", CAMPAIGN: "name", CONTACT: "id",
        DNC: "number", MESSAGE: "id"}
AUDIO_LIMIT = 1 << 20    # bytes of a recording stored (base64); a longer one keeps only its size


JSON_FIELDS = {QUEUE: ("skills", "escalation", "dispositions"), AGENT: ("skills", "capacity"), INTERACTION: (),
               VOICEMAIL: (), CAMPAIGN: ("windows", "retries", "dnc", "dialer"), CONTACT: (), DNC: (),
               MESSAGE: ("data",)}
TIME_FIELDS = {QUEUE: (), AGENT: (), INTERACTION: ("created", "entered", "connected", "ended"),
               VOICEMAIL: ("time",), CAMPAIGN: (), CONTACT: ("retry_at",), DNC: ("added",), MESSAGE: ("time",)}


def values(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """The storage values of a collected record: mappings and lists as JSON text, times
    (Unix seconds) as UTC datetimes, a voicemail's content as text or base64 audio. Done
    by the writer, outside the server's lock."""
    converted = dict(record)
    for field in JSON_FIELDS[kind]:
        if field in record:     # a campaign's progress comes without its definition
            converted[field] = json.dumps(record[field], sort_keys=True)
    for field in TIME_FIELDS[kind]:
        converted[field] = utc_iso(record[field])
    if kind == VOICEMAIL:
        content = converted.pop("content")
        audio = isinstance(content, bytes)
        converted.update(size=len(content), text=None if audio else content,
                         audio=base64.b64encode(content).decode() if audio and len(content) <= AUDIO_LIMIT
                         else None)
    return converted


def unix_time(stored: str | None) -> float | None:
    """A stored UTC datetime (ISO text) as Unix seconds."""
    if stored is None:
        return None
    return dt.datetime.fromisoformat(stored).replace(tzinfo=dt.timezone.utc).timestamp()


def queue_definition(record: dict[str, Any]) -> dict[str, Any]:
    """The queue definition (for ``queue_from_dict``) of a stored ``CommQueue`` record."""
    definition = {k: v for k, v in record.items() if not k.startswith("_") and v is not None}
    definition["skills"] = json.loads(record.get("skills") or "{}")
    definition["escalation"] = json.loads(record.get("escalation") or "[]")
    definition["dispositions"] = json.loads(record.get("dispositions") or "[]")
    return definition


def stored_voicemail(record: dict[str, Any]) -> Voicemail:
    """The message of a stored ``CommVoicemail`` record (audio over the limit comes back empty)."""
    content = record["text"] if record.get("text") is not None else base64.b64decode(record.get("audio") or "")
    return Voicemail(record["id"], record["queue"], record.get("caller"), record.get("customer"),
                     unix_time(record["time"]), content, record["callback"], record["state"])


def stored_message(record: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
    """``(interaction, position, message)`` of a stored ``CommMessage`` record, for ``Transcripts.load``."""
    message = {"from": record.get("sender"), "text": record.get("text") or "", "time": unix_time(record["time"]),
               **json.loads(record.get("data") or "{}")}
    return record["interaction"], record["position"], message


def _message(channel: str, interaction: str, position: int, message: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in message.items() if k not in ("from", "text", "time")}
    return {"id": f"{interaction}/{position}", "interaction": interaction, "position": position,
            "channel": channel, "sender": message["from"], "text": message["text"], "time": message["time"],
            "data": fields}


def stored_campaign(record: dict[str, Any], contacts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The state for ``Campaign.restore`` of a stored ``CommCampaign`` and its contact records:
    an active campaign comes back paused, a contact whose call was under way pending again
    (its attempt counted), with no calls under way; dialer settings without ``use`` (stored
    before dialers were named) are those of the standard dialer; a campaign stored without
    ``auto_accept`` has it off."""
    people = []
    for contact in sorted(contacts, key=lambda c: c["position"]):
        status = contact["status"]
        if status == "calling" or (status == "retry" and contact.get("retry_at") is None):
            status = "pending"
        people.append({"number": contact["number"], "customer": contact.get("customer"),
                       "attempts": contact.get("attempts") or 0, "status": status,
                       "disposition": contact.get("disposition"), "retry_at": unix_time(contact.get("retry_at"))})
    state = record["state"]
    return {"name": record["name"], "queue": record["queue"], "pacing": record["pacing"],
            **{field: json.loads(record[field]) for field in ("windows", "retries", "dnc")},
            "abandon_cap": record["abandon_cap"], "connect_within": record["connect_within"],
            "auto_accept": bool(record.get("auto_accept")),
            "state": CampaignState.PAUSED if state == CampaignState.ACTIVE else state,
            **{figure: record.get(figure) or 0 for figure in ("dialed", "answered", "abandoned", "failed", "sequence")},
            "opted_out": [], "contacts": people,
            "ready": [n for n, contact in enumerate(people) if contact["status"] == "pending"],
            "calls": {}, "ringing": [], "unconnected": {}, "awaiting_dial": [],
            "dialer": {"use": STANDARD, **json.loads(record["dialer"])}, "dialing": {"calls": []}}


def _campaign(campaign: Campaign, definition: bool) -> dict[str, Any]:
    """A campaign's state and counters, with its definition if ``definition``."""
    progress = {"name": campaign.name, "state": campaign.state, "dialed": campaign.dialed,
                "answered": campaign.answered, "abandoned": campaign.abandoned, "failed": campaign.failed,
                "sequence": campaign.sequence}
    if not definition:
        return progress
    return {**campaign.definition(), **progress}


def _contact(campaign: Campaign, position: int) -> dict[str, Any]:
    return {"id": f"{campaign.name}/{position}", "campaign": campaign.name, "position": position,
            **campaign.contacts[position].to_dict()}


def _agent(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "skills": agent.skills, "capacity": agent.capacity, "status": agent.status,
            "reason": agent.reason, "state": agent.state, "calls": agent.calls, "talk_time": agent.talk_time}


def _interaction(interaction: Interaction, disposition: str | None) -> dict[str, Any]:
    return {"id": interaction.id, "channel": interaction.channel, "direction": interaction.direction,
            "customer": interaction.customer, "from": interaction.from_, "to": interaction.to,
            "queue": interaction.queue, "agent": interaction.agent, "state": interaction.state,
            "priority": interaction.priority, "disposition": disposition,
            "created": interaction.created, "entered": interaction.entered,
            "connected": interaction.connected_at, "ended": interaction.ended}


class CommRecords:
    """Writes the ACD's queues, agents and interactions, the messages of ``voicemail``, the
    campaigns (``campaigns()`` returns them by name), the numbers added to the do-not-call
    list and the messages of the text channels' transcripts (``transcripts()``: channel name ->
    ``Transcripts``) to the storage service (``storage()`` returns its client) every ``interval`` seconds,
    but while ``held()`` (a hand-over lasts)."""

    def __init__(self, acd: ACD, storage: Callable[[], Any], batch: int = 500, interval: float = 1.0,
                 voicemail: VoicemailBox | None = None,
                 campaigns: Callable[[], Mapping[str, Campaign]] = dict,
                 transcripts: Callable[[], Mapping[str, Any]] = dict,
                 held: Callable[[], bool] = lambda: False) -> None:
        self.acd, self.batch, self.interval = acd, batch, interval
        self._storage, self._held = storage, held
        self._voicemail, self._campaigns, self._transcripts = voicemail, campaigns, transcripts
        self._live: dict[str, Interaction] = {}
        self._dispositions: dict[str, str] = {}
        self._changed_interactions: set[str] = set()
        self._changed_agents: set[str] = set()
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._stored: set[tuple[str, str]] = set()
        self._guard = threading.Lock()
        self._sending = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._write, name="comm-records", daemon=True)

    # -- under the server's lock ---------------------------------------------------------

    def observe(self, event: Event) -> None:
        """Note what ``event`` changed (cheap: no records are built here)."""
        if event.interaction is not None:
            interaction = self.acd.interactions.get(event.interaction)
            if interaction is not None:
                self._live[event.interaction] = interaction
                self._changed_interactions.add(event.interaction)
            elif event.interaction in self._live:
                self._changed_interactions.add(event.interaction)
                if event.event == COMPLETE:
                    self._dispositions[event.interaction] = event.data.get("disposition") or ""
        if event.agent is not None:
            self._changed_agents.add(event.agent)

    def changed_agent(self, agent_id: str) -> None:
        """An agent changed without an event (e.g. new skills at login)."""
        self._changed_agents.add(agent_id)

    def changed_queue(self, queue: Queue) -> None:
        with self._guard:
            self._pending[(QUEUE, queue.name)] = attrs.asdict(queue)

    def added_dnc(self, number: str, added: float) -> None:
        """``number`` (normalized) joined the server's do-not-call list at ``added`` (Unix time)."""
        with self._guard:
            self._pending[(DNC, number)] = {"number": number, "added": added}

    def closed(self, interaction: Interaction, disposition: str | None) -> None:
        """``interaction``, live when an earlier run ended, was closed at a cold start: its
        record gets the final state (an update; a create if it was never written)."""
        with self._guard:
            self._stored.add((INTERACTION, interaction.id))
            self._pending[(INTERACTION, interaction.id)] = _interaction(interaction, disposition)

    def taken_back(self, interactions: Iterable[Interaction]) -> None:
        """Interactions an earlier run left open, taken back by a cold start: stored already,
        followed from now on."""
        for interaction in interactions:
            self._stored.add((INTERACTION, interaction.id))
            self._live[interaction.id] = interaction
            self._changed_interactions.add(interaction.id)

    def collect(self) -> None:
        """Turn what changed since the last call into records for the writer."""
        records = {}
        for interaction_id in self._changed_interactions:
            interaction = self._live[interaction_id]
            ended = interaction.state in InteractionState.ENDED
            records[(INTERACTION, interaction_id)] = _interaction(
                interaction, self._dispositions.pop(interaction_id, None) if ended else None)
            if ended:
                del self._live[interaction_id]
        for agent_id in self._changed_agents:
            if agent_id in self.acd.agents:
                records[(AGENT, agent_id)] = _agent(self.acd.agents[agent_id])
        for message in self._voicemail.take_changes() if self._voicemail is not None else ():
            records[(VOICEMAIL, message.id)] = message.to_dict()
        for channel, transcripts in self._transcripts().items():
            for interaction, position, message in transcripts.take_changes():
                records[(MESSAGE, f"{interaction}/{position}")] = _message(channel, interaction, position, message)
        progress = {}
        for name, campaign in self._campaigns().items():
            changes = campaign.take_changes()
            if changes is not None:
                definition, contacts = changes
                (records if definition else progress)[(CAMPAIGN, name)] = _campaign(campaign, definition)
                records.update(((CONTACT, f"{name}/{n}"), _contact(campaign, n)) for n in contacts)
        self._changed_interactions.clear()
        self._changed_agents.clear()
        with self._guard:
            self._pending.update(records)
            for key, record in progress.items():
                self._pending[key] = {**self._pending.get(key, {}), **record}

    # -- loading, hot-swap ---------------------------------------------------------------

    def load(self, queues: Iterable[dict[str, Any]], agents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Note the stored queue and agent records (read at start) and define the stored
        agents the ACD does not know as logged out; returns the queue definitions the ACD
        does not have yet."""
        definitions = []
        for record in queues:
            self._stored.add((QUEUE, record["name"]))
            if record["name"] not in self.acd.queues:
                definitions.append(queue_definition(record))
        for record in agents:
            self._stored.add((AGENT, record["id"]))
            if record["id"] not in self.acd.agents:
                self.acd.define_agent(record["id"], json.loads(record.get("skills") or "{}"),
                                      json.loads(record.get("capacity") or "{}"))
        return definitions

    def note_stored(self, kind: str, keys: Iterable[str]) -> None:
        """Records of ``kind`` with ``keys`` are in storage (read at start): they are updated."""
        self._stored.update((kind, key) for key in keys)

    def export_state(self) -> dict[str, Any]:
        """What is not written yet, and which keys exist (after a batch being sent has gone;
        ``held()`` is true by now, so the records stay pending and unsent)."""
        self.collect()
        with self._sending, self._guard:
            return {"pending": [[kind, key, record] for (kind, key), record in self._pending.items()],
                    "stored": [list(key) for key in self._stored]}

    def drop_pending(self) -> None:
        """The successor took over what :meth:`export_state` handed it: the pending records
        are its to write."""
        with self._sending, self._guard:
            self._pending = {}

    def forget(self) -> None:
        """Drop what was noted of interactions and agents (the ACD dropped its work): their
        later events are not taken for changes of the dropped ones."""
        self._live, self._dispositions = {}, {}
        self._changed_interactions.clear()
        self._changed_agents.clear()

    def import_state(self, state: dict[str, Any]) -> None:
        """Take over from :meth:`export_state` of the predecessor; live interactions of the
        ACD are followed from now on (instead of what was noted before, see :meth:`forget`)."""
        self.forget()
        with self._guard:
            self._stored.update(tuple(key) for key in state["stored"])
            for kind, key, record in state["pending"]:
                self._keep_older((kind, key), record)
        self._live = dict(self.acd.interactions)

    # -- the writer ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer; ConfigError unless the storage model has the objects of the module
        ``comm``."""
        storage = self._storage()
        for name in OBJECTS:
            try:
                storage.describe(name)
            except NotFound:
                raise ConfigError(f"comm: persist needs the object {name} in the storage model: "
                                  "add <include module=\"comm\"/> to the model") from None
        self._thread.start()

    def stop(self) -> None:
        """Write what is pending (one attempt, held or not) and stop."""
        self._stopping.set()
        self._thread.join(timeout=30)

    def _write(self) -> None:
        while not self._stopping.wait(self.interval):
            self.flush()
        self.flush()

    def flush(self) -> None:
        """Send the pending records in batches (none while held, but at the stop); unreachable
        storage keeps them pending."""
        with self._sending:
            if self._held() and not self._stopping.is_set():
                return
            with self._guard:
                pending, self._pending = self._pending, {}
            self._send_all(list(pending.items()))

    def _send_all(self, items: list[tuple[tuple[str, str], dict[str, Any]]]) -> None:
        for start in range(0, len(items), self.batch):
            chunk = items[start:start + self.batch]
            try:
                self._send(chunk)
            except UNREACHABLE as error:
                log.warning("comm records: storage unreachable, %d records kept: %s",
                            len(items) - start, error)
                with self._guard:
                    for key, record in items[start:]:
                        self._keep_older(key, record)
                return

    def _keep_older(self, key: tuple[str, str], record: dict[str, Any]) -> None:
        """Keep ``record`` pending under a newer one of the same key, which supplies what it
        lacks (a campaign's progress lacks its definition); the caller holds the guard."""
        self._pending[key] = {**record, **self._pending.get(key, {})}

    def _operation(self, key: tuple[str, str], record: dict[str, Any], create: bool) -> dict[str, Any]:
        stored = values(key[0], record)
        if create:
            return {"op": "create", "object": key[0], "values": stored}
        del stored[KEYS[key[0]]]
        return {"op": "update", "object": key[0], "key": key[1], "values": stored}

    def _send(self, chunk: list[tuple[tuple[str, str], dict[str, Any]]]) -> None:
        storage = self._storage()
        try:
            storage.apply([self._operation(key, record, key not in self._stored) for key, record in chunk],
                          results="count")
        except UNREACHABLE:
            raise
        except CarusoError as error:
            log.info("comm records: batch refused (%s); sending one by one", error)
            for key, record in chunk:
                self._send_one(storage, key, record)
        else:
            self._stored.update(key for key, _ in chunk)
        self._forget_ended(chunk)

    def _send_one(self, storage: Any, key: tuple[str, str], record: dict[str, Any]) -> None:
        create = key not in self._stored
        try:
            try:
                storage.apply([self._operation(key, record, create)], results="count")
            except (Conflict, NotFound) as error:
                if isinstance(error, Conflict) != create:
                    raise
                storage.apply([self._operation(key, record, not create)], results="count")
            self._stored.add(key)
        except UNREACHABLE:
            raise
        except CarusoError as error:
            log.warning("comm records: %s %s not written: %s", key[0], key[1], error)

    def _forget_ended(self, chunk: list[tuple[tuple[str, str], dict[str, Any]]]) -> None:
        """Ended interactions and messages are never written again: their keys need not be remembered."""
        for key, record in chunk:
            if key[0] == MESSAGE or (key[0] == INTERACTION and record["state"] in InteractionState.ENDED):
                self._stored.discard(key)
