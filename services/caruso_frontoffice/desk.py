"""The agent desktop's work: the agent's status and interactions in the communication
server (``caruso.comm/1``), the queue's dialog script in the script engine
(``caruso.scripts/1``), notes, and the screen pop's customer in the storage service.

An agent of the communication server is the front-office user of the same name.
Every operation on an interaction first checks that it is the agent's own; the
script session of an interaction is found through the agent's worksheet, never
taken from a request.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any

import attrs

from caruso_core.client import Client
from caruso_core.errors import CarusoError, Conflict, InvalidInput, NotAuthorized, NotFound
from caruso_frontoffice.desksettings import DeskSettings
from caruso_frontoffice.worksheets import MAX_NOTES, Contact, Worksheet, Worksheets
from caruso_scripts.client import INTERFACE as SCRIPTS, DialogView, Scripts

COMM = "caruso.comm/1"
STORAGE = "caruso.storage/1"
TASK, CUSTOMER = "Task", "Customer"     # the storage's CRM base module: a task, for a customer
MAX_TASK = 300                          # characters of a task's subject (the module's length)
TEXT_CHANNELS = frozenset({"webchat", "email"})
STATUSES = ("available", "break", "logged_out")
MAX_REASON = 60
MAX_MESSAGE = 2000
TITLES_SECONDS = 60.0                   # how long the scripts' titles are kept before asking again
AGENTS_SECONDS = 1.0                    # how long the agents' list the push streams share is kept
REFUSED = (InvalidInput, NotFound, NotAuthorized)     # the storage will not file these notes, however often asked

log = logging.getLogger(__name__)


@attrs.frozen
class Work:
    """One of the agent's interactions as the desk shows it: the live interaction (None
    once it ended and the agent is wrapping up), chat messages, the voicemail it calls back,
    and in wrap-up the seconds left before the wrap-up ends by itself and, when it goes on
    without the agent (transferred), where (``went_on``: *bob has it now*)."""

    id: str
    interaction: dict[str, Any] | None
    messages: list[dict[str, Any]] = attrs.field(factory=list)
    voicemail: dict[str, Any] | None = None
    wrap_up_left: float | None = None
    went_on: str | None = None

    @property
    def state(self) -> str:
        return self.interaction["state"] if self.interaction else "wrap_up"


def _free(agents: list[dict[str, Any]], name: str, channel: str) -> list[tuple[str, str]]:
    """Those of ``agents`` other than ``name`` with room for an interaction of ``channel`` now,
    each with its state (*ready* when idle, *busy* with a chat or two)."""
    return [(other["id"], "ready" if other["state"] == "idle" else other["state"].replace("_", " "))
            for other in agents if other["id"] != name and (other.get("free") or {}).get(channel, 0) > 0]


def _where(interaction: dict[str, Any]) -> str:
    """Where an interaction that went on without the agent is now, for their wrap-up."""
    if interaction["agent"]:
        return f"{interaction['agent']} has it now"
    if interaction.get("offers"):
        return f"it rings for {', '.join(interaction['offers'])}"
    return f"it waits in queue {interaction['queue']}"


class Desk:
    """The desk's calls to the other components, for one front office (thread-safe)."""

    def __init__(self, settings: DeskSettings, worksheets: Worksheets, client: Client) -> None:
        self.settings = settings
        self.worksheets = worksheets
        self.comm = client.service(COMM)
        self.scripts = Scripts(client.service(SCRIPTS))
        self.storage = client.service(STORAGE)
        self._starting = threading.Lock()
        self._titles: tuple[float, dict[str, str]] = (0.0, {})       # until when, script id: title
        self._everyone_lock = threading.Lock()
        self._everyone: tuple[float, list[dict[str, Any]]] = (0.0, [])    # until when, the agents

    # -- the agent -----------------------------------------------------------------------

    def agent(self, name: str) -> dict[str, Any] | None:
        """The agent in the communication server, None while never logged in."""
        try:
            return self.comm.agent(name)
        except NotFound:
            return None

    def set_status(self, name: str, status: str, reason: str = "") -> None:
        """Available or on break (logging in with the configured skills first), or logged out."""
        if status not in STATUSES:
            raise InvalidInput(f"status {status!r}: use one of {', '.join(STATUSES)}")
        reason = reason.strip()
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"the reason of a break has at most {MAX_REASON} characters")
        agent = self.agent(name)
        if status == "logged_out":
            if agent is not None and agent["status"] != "logged_out":
                self.comm.logout(name)
        elif agent is None or agent["status"] == "logged_out":
            self.comm.login(name, self.settings.skills_of(name), self.settings.capacity, status)
            if reason:
                self.comm.set_status(name, status, reason)
        else:
            self.comm.set_status(name, status, reason if status == "break" else "")

    def work(self, agent: dict[str, Any] | None) -> list[Work]:
        """The agent's interactions, offered first as the communication server lists them."""
        found = []
        wrap_up_left = (agent or {}).get("wrap_up_left", {})
        name = (agent or {}).get("id")
        for interaction_id in (agent or {}).get("interactions", []):
            anywhere = self._interaction(interaction_id)
            interaction = anywhere if self._agents(name, anywhere) else None
            if interaction is None:
                found.append(Work(interaction_id, None, wrap_up_left=wrap_up_left.get(interaction_id),
                                  went_on=_where(anywhere) if anywhere else None))
                continue
            found.append(Work(interaction_id, interaction, self._messages(interaction),
                              self._voicemail(interaction_id)))
        return found

    def _live(self, name: str | None, interaction_id: str) -> dict[str, Any] | None:
        """The interaction while it is offered or connected to the agent ``name``; None when
        the agent is wrapping it up: it ended, or it goes on without the agent (transferred)."""
        interaction = self._interaction(interaction_id)
        return interaction if self._agents(name, interaction) else None

    def _interaction(self, interaction_id: str) -> dict[str, Any] | None:
        """The interaction while the communication server has it (None once it ended)."""
        try:
            return self.comm.interaction(interaction_id)
        except NotFound:
            return None

    @staticmethod
    def _agents(name: str | None, interaction: dict[str, Any] | None) -> bool:
        """Whether ``interaction`` is offered or connected to the agent ``name``."""
        return interaction is not None and name is not None and (
            interaction["agent"] == name or name in interaction.get("offers", ()))

    def _messages(self, interaction: dict[str, Any]) -> list[dict[str, Any]]:
        if interaction["channel"] not in TEXT_CHANNELS or interaction["state"] not in ("offered", "connected"):
            return []
        try:
            return self.comm.messages(interaction["id"], interaction["channel"])
        except NotFound:
            return []

    def _voicemail(self, interaction_id: str) -> dict[str, Any] | None:
        if not interaction_id.startswith("callback-"):
            return None
        return next((m for m in self.comm.voicemails() if m["callback"] == interaction_id), None)

    def pushed(self, name: str) -> dict[str, Any]:
        """What the desk's push stream sends of the agent now: ``signature``, a digest of the
        agent's status and work that changes when the page should be reloaded (an offer, an
        accepted call, a chat message, ...); and while the agent has connected interactions,
        ``colleagues``: for each of their channels, who could take one now (:meth:`colleagues`),
        which the page puts into its transfer list without reloading."""
        agent = self.agent(name)
        works = self.work(agent)
        shown: dict[str, Any] = {"signature": self.signature_of(agent, works)}
        channels = sorted({w.interaction["channel"] for w in works if w.interaction and w.state == "connected"})
        if channels:
            everyone = self._recent_agents()
            shown["colleagues"] = {channel: _free(everyone, name, channel) for channel in channels}
        return shown

    def _recent_agents(self) -> list[dict[str, Any]]:
        """The communication server's agents, asked at most once per ``AGENTS_SECONDS`` for all
        the streams of this front office (each stream of an agent on a call wants them)."""
        with self._everyone_lock:
            until, everyone = self._everyone
            if time.monotonic() >= until:
                everyone = self.comm.agents()
                self._everyone = (time.monotonic() + AGENTS_SECONDS, everyone)
            return everyone

    @staticmethod
    def signature_of(agent: dict[str, Any] | None, works: list[Work]) -> str:
        """The digest of a desk drawn from ``agent`` and ``works``. A page carries the digest
        of what it shows, not one read again after it: work that arrived while the page was
        drawn must differ from it, or the page would never learn of that work."""
        shown = [agent and [agent["status"], agent["reason"], agent["state"]]]
        shown += [[w.id, w.state, len(w.messages), w.went_on] for w in works]
        return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]

    # -- interactions ----------------------------------------------------------------------

    def own(self, name: str, interaction_id: str) -> dict[str, Any] | None:
        """The agent's live interaction ``interaction_id`` (None if the agent is wrapping it up);
        Conflict if it is not the agent's."""
        agent = self.agent(name)
        if agent is None or interaction_id not in agent["interactions"]:
            raise Conflict("this interaction is not (or no longer) yours: it ended or went to another agent")
        return self._live(name, interaction_id)

    def connected(self, name: str, interaction_id: str) -> dict[str, Any]:
        """The agent's connected interaction; Conflict otherwise."""
        interaction = self.own(name, interaction_id)
        if interaction is None or interaction["state"] != "connected":
            raise Conflict("this interaction is not connected to you")
        return interaction

    def accept(self, name: str, interaction_id: str) -> dict[str, Any]:
        """Accept an offer; returns the connected interaction. The agent's worksheet of it
        starts empty: one left from an earlier time the agent had it (it was transferred and
        came back) is forgotten, its notes filed already."""
        self.own(name, interaction_id)
        accepted = self.comm.accept(name, interaction_id)
        self.worksheets.forget(name, interaction_id)
        return accepted

    def reject(self, name: str, interaction_id: str) -> None:
        self.own(name, interaction_id)
        self.comm.reject(name, interaction_id)

    def colleagues(self, name: str, channel: str) -> list[tuple[str, str]]:
        """The other agents who could take an interaction of ``channel`` now (available, with room
        for it), whom the agent ``name`` may transfer one to, each with its state (*ready* when idle,
        *busy* with a chat or two)."""
        return _free(self.comm.agents(), name, channel)

    def transfer(self, name: str, interaction_id: str, queue: str = "", colleague: str = "") -> None:
        """Transfer the agent's connected interaction to another queue of its channel or to a
        colleague (the desk offers those); Conflict for a queue of another channel (a call is no
        chat) or a colleague who cannot take it now. A colleague who does not take it (rejects
        it, lets it ring out, goes on break) sends it back into its queue, where this agent may be
        offered it again."""
        interaction = self.connected(name, interaction_id)
        if bool(queue) == bool(colleague):
            raise InvalidInput("choose a queue or a colleague to transfer to")
        if colleague:
            if colleague == name:
                raise InvalidInput("choose a colleague to transfer to, not yourself")
            try:
                self.comm.transfer(name, interaction_id, to_agent=colleague)
            except Conflict:
                raise Conflict(f"{colleague} cannot take it now (busy, on break or signed out since the desk "
                               "was drawn): choose another colleague or a queue") from None
            return
        channels = {q["name"]: q.get("channel") for q in self.comm.queues()}
        if queue not in channels:
            raise InvalidInput(f"there is no queue {queue!r} to transfer to")
        if queue == interaction["queue"]:
            raise InvalidInput(f"this interaction is in the queue {queue!r} already: choose another")
        if channels[queue] != interaction["channel"]:
            raise Conflict(f"queue {queue} takes {channels[queue]} interactions, not this {interaction['channel']} "
                           "one: choose one the desk offers")
        self.comm.transfer(name, interaction_id, queue=queue)

    def send(self, name: str, interaction_id: str, text: str) -> None:
        text = text.strip()
        if not text or len(text) > MAX_MESSAGE:
            raise InvalidInput(f"a message has 1 to {MAX_MESSAGE} characters")
        self.connected(name, interaction_id)
        self.comm.send(name, interaction_id, text)

    def keep_notes(self, name: str, interaction_id: str, notes: str) -> None:
        """Keep the notes of one of the agent's interactions, also of one that left the agent
        while the notes were typed (the caller hung up), as long as they were not filed: the
        next drawing of the desk or the front office's filing (:mod:`caruso_frontoffice.filing`)
        files them (:meth:`file_left`). Conflict once they were filed."""
        try:
            self.own(name, interaction_id)
        except Conflict:
            if self.worksheet(name, interaction_id).contact is None:
                raise
        self._store_notes(name, interaction_id, notes)

    def _store_notes(self, name: str, interaction_id: str, notes: str) -> None:
        """Store the notes of an interaction known to be the agent's; Conflict once filed."""
        if len(notes) > MAX_NOTES:
            raise InvalidInput(f"notes have at most {MAX_NOTES} characters")
        if not self.worksheets.keep_notes(name, interaction_id, notes):
            raise Conflict("the notes of this interaction went to the contact history already")

    def dispositions(self, queue: str, queues: list[dict[str, Any]] | None = None) -> tuple[str, ...]:
        """The dispositions offered for an interaction of ``queue``: the queue's own, else the
        desk's (``queues``: the communication server's, when the caller has them already)."""
        found = next((q for q in queues or self.comm.queues() if q["name"] == queue), {})
        return tuple(found.get("dispositions") or ()) or self.settings.dispositions

    def complete(self, name: str, interaction_id: str, disposition: str, customer: tuple[str, Any] | None) -> None:
        """Complete with one of the dispositions of the interaction's queue; the notes go to
        the contact history of ``customer`` (object, key) when there are any (:meth:`file_notes`)."""
        interaction = self.connected(name, interaction_id)
        offered = self.dispositions(interaction["queue"])
        if disposition not in offered:
            raise InvalidInput(f"disposition {disposition!r}: use one of {', '.join(offered)}")
        self.remember(name, interaction, customer)
        self.comm.complete(name, interaction_id, disposition)
        self.file_notes(name, interaction_id, f"Notes ({disposition})")

    def remember(self, name: str, interaction: dict[str, Any], customer: tuple[str, Any] | None,
                 shown: Worksheet | None = None) -> None:
        """Remember, while the interaction is connected, what its notes are filed with: its
        channel, direction and ``customer`` (object, key); written only when it differs from
        the worksheet ``shown`` (read when not given)."""
        contact = Contact(interaction["channel"], interaction["direction"], customer)
        known = (shown or self.worksheet(name, interaction["id"])).contact
        if known is None or attrs.evolve(known, filed=False) != contact:
            self.worksheets.remember(name, interaction["id"], contact)

    def file_notes(self, name: str, interaction_id: str, heading: str = "Notes") -> None:
        """File the interaction's notes (``heading: notes``) to the contact history of the
        customer remembered for it, once: the first call decides, also when there are no
        notes or no customer to file them for. A filing the storage fails is forgotten
        (the error raised), so that it can be tried again."""
        if not self.worksheets.claim_filing(name, interaction_id):
            return                                    # filed already, or never seen connected
        worksheet = self.worksheet(name, interaction_id)
        contact = worksheet.contact
        if not worksheet.fileable or contact is None or contact.customer is None:   # (fileable says so)
            return
        try:
            self.storage.add_contact(contact.customer[0], contact.customer[1], {
                "channel": contact.channel, "direction": contact.direction, "agent": name,
                "reference": interaction_id, "summary": f"{heading}: {worksheet.notes.strip()}"})
        except Exception:
            self.worksheets.release_filing(name, interaction_id)
            raise

    def file_left(self, name: str, agent: dict[str, Any] | None) -> None:
        """File the notes of the agent's interactions that left without the agent completing
        them or ending their wrap-up (the caller hung up, a transfer, a wrap-up that timed
        out); ``agent`` as the communication server has it now. Notes the storage refuses are
        given up (logged); the rest is tried again at the next call."""
        current = set((agent or {}).get("interactions", ()))
        for interaction_id in self.worksheets.unfiled(name):
            if interaction_id in current:
                continue
            try:
                self.file_notes(name, interaction_id)
            except REFUSED as refusal:
                self.worksheets.claim_filing(name, interaction_id)
                log.warning("the notes of %s on %s were not filed: %s", name, interaction_id, refusal)
            except CarusoError as failure:
                log.info("the notes of %s on %s will be filed later: %s", name, interaction_id, failure)
                return

    def follow_up(self, name: str, interaction_id: str, subject: str, due: str | None,
                  customer: tuple[str, Any] | None) -> dict[str, Any] | None:
        """Decide the follow-up of the interaction: with a ``subject``, a task of the CRM base
        module for the agent ``name``, ``due`` (an ISO date or None), and the customer when
        ``customer`` is a Customer (the task as stored); with none, nothing to do (None). The
        decision is noted first, so an interaction has one; Conflict when it has one already."""
        if not self.worksheets.claim_follow_up(name, interaction_id, subject):
            raise Conflict("this interaction has its follow-up decided already")
        if not subject:
            return None
        values: dict[str, Any] = {"subject": subject, "assignee": name}
        if due:
            values["due"] = due
        if customer is not None and customer[0] == CUSTOMER:
            values["customer_id"] = customer[1]
        try:
            return self.storage.create(TASK, values)
        except Exception:
            self.worksheets.release_follow_up(name, interaction_id)
            raise

    def end_wrap_up(self, name: str, interaction_id: str, subject: str = "", due: str | None = None,
                    customer: tuple[str, Any] | None = None, notes: str | None = None) -> bool:
        """End the agent's wrap-up. Its notes (``notes`` when given) are filed first unless
        they were (:meth:`file_notes`), and its follow-up is decided when ``subject`` names
        one (:meth:`follow_up`); the wrap-up ends only once both are done, and then a
        follow-up not decided becomes none (so a wrap-up the communication server failed to
        end still takes one). True then. When the wrap-up ended by itself meanwhile (its time
        ran out) for an interaction that was the agent's (its contact is remembered) and whose
        follow-up is still open, the notes are filed and the follow-up decided all the same,
        notes filed already staying as they were: False."""
        try:
            running = self.own(name, interaction_id) is None
        except Conflict:
            worksheet = self.worksheet(name, interaction_id)
            if worksheet.contact is None or worksheet.follow_up is not None:
                raise                   # never the agent's, or a wrap-up ended (its follow-up decided)
            running = False
        else:
            if not running:
                raise Conflict("this interaction is not in wrap-up: complete it first")
        if notes is not None:       # whose it is was settled above
            try:
                self._store_notes(name, interaction_id, notes)
            except Conflict:
                if running:
                    raise
        self.file_notes(name, interaction_id)
        if subject or not running:
            self.follow_up(name, interaction_id, subject, due, customer)
        if running:
            self.comm.end_wrap_up(name, interaction_id)
            self.worksheets.claim_follow_up(name, interaction_id, "")     # none, unless decided already
        return running

    # -- the dialog script -------------------------------------------------------------------

    def worksheet(self, name: str, interaction_id: str) -> Worksheet:
        return self.worksheets.get(name, interaction_id)

    def script(self, name: str, interaction_id: str) -> DialogView | None:
        """The script session of the interaction as the engine shows it, if one was started."""
        session = self.worksheet(name, interaction_id).script_session
        return self.scripts.current(session) if session else None

    def script_title(self, script: str) -> str:
        """The title of the dialog script ``script`` as the engine lists it (its id if it lists
        none, or cannot be asked now), asked at most once a minute."""
        until, titles = self._titles
        if time.monotonic() >= until:
            try:
                titles = {info.id: info.title for info in self.scripts.scripts() if info.title}
            except CarusoError:
                return titles.get(script, script)
            self._titles = (time.monotonic() + TITLES_SECONDS, titles)
        return titles.get(script, script)

    def start_script(self, name: str, interaction_id: str, customer: Any) -> DialogView:
        """Begin the queue's script with the context ``customer_id``, ``caller``, ``interaction``,
        ``queue``, ``agent`` and ``channel`` (the communication server's: ``voice``,
        ``webchat``, ``email``, ...); its session is kept in the agent's worksheet."""
        interaction = self.connected(name, interaction_id)
        script = self.settings.script_of(interaction["queue"])
        if script is None:
            raise Conflict(f"queue {interaction['queue']!r} has no dialog script")
        caller = interaction["from"] if interaction["direction"] == "inbound" else interaction["to"]
        view = self.scripts.begin(script, {"customer_id": customer, "caller": caller,
                                           "interaction": interaction_id, "queue": interaction["queue"],
                                           "agent": name, "channel": interaction["channel"]})
        self.worksheets.keep(name, interaction_id, script_session=view.session)
        return view

    def start_auto_accepted(self, name: str, interaction: dict[str, Any], customer: Any) -> DialogView | None:
        """Begin the queue's script (as :meth:`start_script`) for a connected campaign call that
        its campaign accepted for the agent (``auto_accept``), unless it has one already;
        None when there is nothing to start."""
        campaign = interaction.get("campaign") or {}
        if not campaign.get("auto_accept") or interaction["state"] != "connected" \
                or self.settings.script_of(interaction["queue"]) is None:
            return None
        with self._starting:
            if self.worksheet(name, interaction["id"]).script_session is not None:
                return None
            return self.start_script(name, interaction["id"], customer)

    def answer(self, name: str, interaction_id: str, answer: str | None, seq: int) -> DialogView:
        """Answer the script's current step (None continues an information item); InvalidInput
        with a message for the agent when the answer does not fit."""
        return self.scripts.answer(self._session(name, interaction_id), answer, seq)

    def back(self, name: str, interaction_id: str) -> DialogView:
        return self.scripts.back(self._session(name, interaction_id))

    def _session(self, name: str, interaction_id: str) -> str:
        self.connected(name, interaction_id)
        session = self.worksheet(name, interaction_id).script_session
        if session is None:
            raise Conflict("no dialog script runs for this interaction")
        return session
