"""Outbound campaigns: call lists, calling windows, pacing, retries, do-not-call, abandon cap.

A campaign dials its contacts through a :class:`~caruso_comm.dialer.Dialer` and puts answered
calls into its queue as outbound interactions, where the ACD routes them like any
other. An answered call not connected to an agent within ``connect_within`` seconds
(its accept window, :data:`CONNECT_WITHIN` bounds it) is dropped and counts as abandoned;
with ``auto_accept`` the campaign connects an answered call to the agent it is offered to
at once, in the agent's name, so nobody has to click. Pacing decides how many calls ring at once:

``preview``      the agent is offered the contact first; the call is dialed once they accept;
``progressive``  one call per ready agent;
``predictive``   more calls than ready agents, as the measured answer rate suggests, but
                 only as many beyond the ready agents as the abandon budget allows:
                 abandoned + (calls beyond ready agents) <= ``abandon_cap`` x answered.
                 So the abandon rate stays at or under the cap as long as the queue's
                 agents serve only this campaign and stay logged in while calls ring.

Numbers on the do-not-call list are never dialed, even when added while the campaign
runs. Retries follow the disposition of the last attempt (a dial result such as
``no_answer`` or the agent's disposition). Events: see docs/communication.md.

:meth:`Campaign.export_state` gives the definition and every contact's progress as plain
data (with the calls under way and the dialer's calls not reported yet); :meth:`Campaign.restore`
continues from it on another ACD (hot-swap), so nobody is dialed twice and no retry is lost.
"""
from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import math
import re
from typing import Any, Iterable, Mapping

import attrs

from caruso_core.errors import ConfigError, Conflict, InvalidInput
from caruso_core.zones import UTC

from caruso_comm.acd import ACD
from caruso_comm.dialer import STANDARD, Dialer
from caruso_comm.events import (ABANDON, AGENT_STATE, AGENT_STATUS, CAMPAIGN_STATE, COMPLETE, CONNECT, DIAL,
                                DIAL_RESULT, DNC_SKIP, OFFER, OPT_OUT_SKIP, VOICEMAIL, Event)
from caruso_comm.model import InteractionState

ANSWERED = "answered"
DROPPED = "abandoned"
DAY = 86400.0
FINAL = frozenset({"done", "dnc", "opted_out"})   # contact statuses never dialed again
CONNECT_WITHIN = (0.5, 120.0)     # the accept window's bounds, seconds


class Pacing:
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"
    ALL = frozenset({PREVIEW, PROGRESSIVE, PREDICTIVE})


class CampaignState:
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"


def normalize(number: str) -> str:
    """A phone number as ``+`` and digits; InvalidInput if it has fewer than 3 digits."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 3:
        raise InvalidInput(f"{number!r} is not a phone number")
    return ("+" if number.strip().startswith("+") else "") + digits


@attrs.define(eq=False)
class Contact:
    """One entry of a call list and how far the campaign got with it."""

    number: str = attrs.field(converter=normalize)
    customer: str | None = None
    attempts: int = 0
    status: str = "pending"
    disposition: str | None = None
    retry_at: float | None = None     # while status is "retry": when it is pending again

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Retry:
    """Call again ``after`` seconds, up to ``max_attempts`` attempts in all."""

    max_attempts: int
    after: float


def read_contacts(text: str, source: str = "call list") -> list[Contact]:
    """Contacts from CSV with a header: ``number`` (required), ``customer`` (optional)."""
    reader = csv.DictReader(io.StringIO(text))
    if "number" not in (reader.fieldnames or []):
        raise ConfigError(f"{source}, line 1: no 'number' column (columns: number, customer)")
    contacts = []
    for row in reader:
        try:
            contacts.append(Contact(row["number"] or "", (row.get("customer") or None)))
        except InvalidInput as error:
            raise ConfigError(f"{source}, line {reader.line_num}: {error}") from None
    return contacts


def contacts_from_records(records: Iterable[Mapping[str, Any]], number: str,
                          customer: str | None) -> tuple[list[Contact], int]:
    """Contacts from business-object records (``number`` and ``customer`` name their fields;
    no ``customer``, or none in a record: a contact of no customer), and how many records
    were left out for having no valid number."""
    contacts, skipped = [], 0
    for record in records:
        key = record.get(customer) if customer else None
        try:
            contacts.append(Contact(str(record.get(number) or ""), None if key is None else str(key)))
        except InvalidInput:
            skipped += 1
    return contacts, skipped


def window_text(window: tuple[float, float]) -> str:
    """A window in seconds of the day as ``"HH:MM-HH:MM"`` (the inverse of :func:`parse_window`)."""
    return "-".join(f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}" for s in window)


def parse_window(text: str) -> tuple[float, float]:
    """``"09:00-20:00"`` as seconds of the (UTC) day."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise ConfigError(f"calling window {text!r}: write it as HH:MM-HH:MM")
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = h1 * 3600.0 + m1 * 60, h2 * 3600.0 + m2 * 60
    if not 0 <= start < end <= DAY:
        raise ConfigError(f"calling window {text!r}: the start must come before the end")
    return start, end


def accept_window(campaign: str, seconds: Any) -> float:
    """``seconds`` as a campaign's ``connect_within``; ConfigError unless a number within
    :data:`CONNECT_WITHIN`."""
    low, high = CONNECT_WITHIN
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not low <= seconds <= high:
        raise ConfigError(f"campaign {campaign!r}: connect_within {seconds!r} is not a number of seconds "
                          f"from {low:g} to {high:g}")
    return float(seconds)


class Campaign:
    """An outbound campaign on ``acd``'s queue ``queue``, dialing through ``dialer`` (made by
    the dialer named ``dialer_name``) within its calling ``windows`` (times of day in ``zone``);
    feed it every ACD event through :meth:`observe`."""

    def __init__(self, name: str, acd: ACD, queue: str, dialer: Dialer, contacts: Iterable[Contact],
                 *, pacing: str = Pacing.PROGRESSIVE, windows: Iterable[str] = ("00:00-24:00",),
                 retries: Mapping[str, Retry] | None = None, dnc: Iterable[str] = (),
                 abandon_cap: float = 0.03, connect_within: float = 2.0, auto_accept: bool = False,
                 dialer_name: str = STANDARD, zone: dt.tzinfo = UTC) -> None:
        if pacing not in Pacing.ALL:
            raise ConfigError(f"campaign {name!r}: pacing {pacing!r} is not one of "
                              f"{', '.join(sorted(Pacing.ALL))}")
        if not isinstance(auto_accept, bool):
            raise ConfigError(f"campaign {name!r}: auto_accept {auto_accept!r} is not true or false")
        if auto_accept and pacing == Pacing.PREVIEW:
            raise ConfigError(f"campaign {name!r}: auto_accept connects answered calls, and a preview "
                              "campaign dials only after its agent accepted: use progressive or predictive")
        if queue not in acd.queues:
            raise ConfigError(f"campaign {name!r}: no queue {queue!r}")
        self.name, self.acd, self.queue, self.dialer, self.pacing = name, acd, queue, dialer, pacing
        self.dialer_name = dialer_name
        self.contacts = list(contacts)
        self.windows = sorted(parse_window(w) for w in windows)
        self.zone = zone
        self.retries = dict(retries or {})
        self.dnc = {normalize(n) for n in dnc}
        self.opted_out: set[str] = set()     # customers who opted out since the list was made
        self.abandon_cap = abandon_cap
        self.connect_within = accept_window(name, connect_within)
        self.auto_accept = auto_accept
        self.state = CampaignState.DRAFT
        self.dialed = self.answered = self.abandoned = self.failed = 0
        self._ready = collections.deque(self.contacts)
        self._ringing: dict[str, Contact] = {}
        self._unconnected: dict[str, float] = {}   # answered, not connected: call -> drop time
        self._awaiting_dial: set[str] = set()      # preview calls connected, not dialed yet
        self._calls: dict[str, Contact] = {}
        self.sequence = 0                    # calls placed: numbers the call ids
        self._pace_pending = False
        self._changed = set(range(len(self.contacts)))   # for take_changes
        self._dirty = self._definition_changed = True
        self._index = {id(contact): n for n, contact in enumerate(self.contacts)}

    # -- states ----------------------------------------------------------------------

    def start(self) -> None:
        self._move({CampaignState.DRAFT}, CampaignState.ACTIVE)

    def pause(self) -> None:
        """No new calls; calls under way go on."""
        self._move({CampaignState.ACTIVE}, CampaignState.PAUSED)

    def resume(self) -> None:
        self._move({CampaignState.PAUSED}, CampaignState.ACTIVE)

    def finish(self) -> None:
        self._move({CampaignState.DRAFT, CampaignState.ACTIVE, CampaignState.PAUSED},
                   CampaignState.FINISHED)

    def _move(self, allowed: set[str], state: str) -> None:
        if self.state not in allowed:
            raise Conflict(f"campaign {self.name!r} is {self.state}: cannot become {state}")
        self.state = state
        self._dirty = True
        self.acd.record(CAMPAIGN_STATE, queue=self.queue, campaign=self.name, state=state,
                        contacts=len(self.contacts))
        self._schedule_pace()

    def add_dnc(self, number: str) -> None:
        """Never dial ``number`` from now on."""
        self.dnc.add(normalize(number))
        self._dirty = self._definition_changed = True

    def opt_out(self, customers: set[str]) -> None:
        """Dial none of ``customers`` from now on (the current opt-outs, replacing the last)."""
        self.opted_out = set(customers)

    # -- pacing ----------------------------------------------------------------------

    def _schedule_pace(self) -> None:
        if not self._pace_pending and self.state == CampaignState.ACTIVE:
            self._pace_pending = True
            self.acd.timers.at(self.acd.timers.now(), self._pace)

    def _opens_in(self, now: float) -> float:
        """Seconds until a calling window is open (0: open now), its times of day in the
        campaign's zone (a day the clocks change has 23 or 25 hours)."""
        local = dt.datetime.fromtimestamp(now, self.zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        second = (local.replace(tzinfo=None) - midnight).total_seconds()
        for start, end in self.windows:
            if start <= second < end:
                return 0.0
        starts = (midnight + dt.timedelta(days=days, seconds=start) for days in (0, 1, 2) for start, _ in self.windows)
        return min(opens - now for opens in (start.replace(tzinfo=self.zone).timestamp() for start in starts)
                   if opens > now)

    def _pace(self) -> None:
        self._pace_pending = False
        if self.state != CampaignState.ACTIVE:
            return
        wait = self._opens_in(self.acd.timers.now())
        if wait:
            self._pace_pending = True
            self.acd.timers.after(wait, self._pace)
            return
        for _ in range(self._lines()):
            contact = self._next_contact()
            if contact is None:
                break
            self._place(contact)
        self._check_finished()

    def _lines(self) -> int:
        """How many more calls to start now."""
        staffing = self.acd.staffing(self.queue)
        ready, ringing, unconnected = staffing["ready"], len(self._ringing), len(self._unconnected)
        if self.pacing == Pacing.PREVIEW:
            return ready
        if self.pacing == Pacing.PROGRESSIVE:
            return ready - unconnected - ringing
        answer_rate = (self.answered + 1) / (self.answered + self.failed + 3)
        wanted = math.ceil(max(ready, 1 if staffing["occupied"] else 0) / answer_rate)
        budget = math.floor(self.abandon_cap * self.answered) - self.abandoned
        return min(wanted - unconnected, ready - unconnected + max(0, budget)) - ringing

    def _next_contact(self) -> Contact | None:
        while self._ready:
            contact = self._ready.popleft()
            if contact.number in self.dnc:
                self._set_status(contact, "dnc")
                self.acd.record(DNC_SKIP, queue=self.queue, campaign=self.name, number=contact.number)
                continue
            if contact.customer in self.opted_out:
                self._set_status(contact, "opted_out")
                self.acd.record(OPT_OUT_SKIP, queue=self.queue, campaign=self.name, number=contact.number)
                continue
            return contact
        return None

    def _place(self, contact: Contact) -> None:
        self.sequence += 1
        call_id = f"{self.name}-{self.sequence}"
        contact.attempts += 1
        self._set_status(contact, "calling")
        self._calls[call_id] = contact
        if self.pacing == Pacing.PREVIEW:
            self.acd.arrive(self.queue, id=call_id, direction="outbound", customer=contact.customer,
                            to=contact.number)
        else:
            self._dial(call_id, contact)

    def _dial(self, call_id: str, contact: Contact) -> None:
        self._awaiting_dial.discard(call_id)
        if call_id not in self._calls:
            return
        if contact.number in self.dnc:
            self.acd.record(DNC_SKIP, queue=self.queue, campaign=self.name, number=contact.number)
            interaction = self.acd.interactions[call_id]
            self.acd.complete(interaction.agent, call_id, "dnc")
            return
        self.dialed += 1
        self._ringing[call_id] = contact
        self.acd.record(DIAL, interaction=call_id, queue=self.queue, campaign=self.name,
                        number=contact.number, attempt=contact.attempts)
        self.dialer.dial(call_id, contact.number, self._result)

    def _result(self, call_id: str, result: str) -> None:
        contact = self._ringing.pop(call_id)
        self._dirty = True
        self.acd.record(DIAL_RESULT, interaction=call_id, queue=self.queue, campaign=self.name,
                        result=result)
        if result == ANSWERED:
            self.answered += 1
            if self.pacing != Pacing.PREVIEW and call_id in self._calls:
                self._unconnected[call_id] = drop_at = self.acd.timers.now() + self.connect_within
                self.acd.arrive(self.queue, id=call_id, direction="outbound",
                                customer=contact.customer, to=contact.number)
                self.acd.timers.at(drop_at, self._drop_if_unconnected, call_id)
        else:
            self.failed += 1
            interaction = self.acd.interactions.get(call_id)
            if interaction is not None:
                self.acd.complete(interaction.agent, call_id, result)
            elif call_id in self._calls:
                self._settle(call_id, result)
        self._schedule_pace()

    def _drop_if_unconnected(self, call_id: str) -> None:
        interaction = self.acd.interactions.get(call_id)
        if call_id in self._unconnected and interaction is not None and \
                interaction.state in (InteractionState.WAITING, InteractionState.OFFERED):
            self.abandoned += 1
            self._dirty = True
            self.acd.abandon(call_id, reason="no agent")

    # -- outcome ---------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        """Follow the campaign's calls through the ACD's events."""
        if event.event == AGENT_STATE or event.event == AGENT_STATUS:
            self._schedule_pace()
        contact = self._calls.get(event.interaction)
        if contact is None:
            return
        if event.event == OFFER and self.auto_accept and event.interaction in self._unconnected:
            self.acd.timers.at(event.time, self._connect, event.interaction, event.agent)
        elif event.event == CONNECT:
            self._unconnected.pop(event.interaction, None)
            if self.pacing == Pacing.PREVIEW:
                self._awaiting_dial.add(event.interaction)
                self.acd.timers.at(event.time, self._dial, event.interaction, contact)
        elif event.event == COMPLETE:
            self._settle(event.interaction, event.data.get("disposition") or "completed")
        elif event.event in (ABANDON, VOICEMAIL):
            self._unconnected.pop(event.interaction, None)
            self._settle(event.interaction, DROPPED if event.event == ABANDON else "voicemail")

    def _connect(self, call_id: str, agent: str) -> None:
        """Auto-accept: ``agent`` takes the answered call ``call_id`` if it is still offered to them."""
        interaction = self.acd.interactions.get(call_id)
        if interaction is not None and agent in interaction.offers:
            self.acd.accept(agent, call_id)

    def call(self, call_id: str) -> dict[str, Any] | None:
        """None unless ``call_id`` is a call of this campaign under way; else ``name`` (the
        campaign's), ``auto_accept`` and ``accept_within``: while the call is answered and not yet
        connected, the seconds left before it is dropped, else None."""
        if call_id not in self._calls:
            return None
        drop_at = self._unconnected.get(call_id)
        return {"name": self.name, "auto_accept": self.auto_accept,
                "accept_within": None if drop_at is None else max(0.0, drop_at - self.acd.timers.now())}

    def _settle(self, call_id: str, disposition: str) -> None:
        contact = self._calls.pop(call_id)
        contact.disposition = disposition
        rule = self.retries.get(disposition)
        if disposition == "dnc":
            self._set_status(contact, "dnc")
        elif rule is not None and contact.attempts < rule.max_attempts:
            self._set_status(contact, "retry")
            contact.retry_at = self.acd.timers.now() + rule.after
            self.acd.timers.at(contact.retry_at, self._retry, contact)
        else:
            self._set_status(contact, "done")
        self._schedule_pace()

    def _retry(self, contact: Contact) -> None:
        contact.retry_at = None
        self._set_status(contact, "pending")
        self._ready.append(contact)
        self._schedule_pace()

    def _set_status(self, contact: Contact, status: str) -> None:
        contact.status = status
        self._changed.add(self._index[id(contact)])

    def _check_finished(self) -> None:
        if not self._ready and not self._calls and all(c.status in FINAL for c in self.contacts):
            self.finish()

    def summary(self) -> dict[str, Any]:
        """Name, queue, pacing, accept window (``connect_within``), ``auto_accept``, state, figures,
        contacts counted by status and the number of customers opted out at the last reading, as
        plain data."""
        return {"name": self.name, "queue": self.queue, "pacing": self.pacing,
                "connect_within": self.connect_within, "auto_accept": self.auto_accept, "state": self.state,
                **self.figures(), "contacts": dict(collections.Counter(c.status for c in self.contacts)),
                "opt_outs": len(self.opted_out)}

    def figures(self) -> dict[str, float | int]:
        """Dialed, answered, abandoned (dropped answered calls) and the abandon rate."""
        return {"dialed": self.dialed, "answered": self.answered, "abandoned": self.abandoned,
                "abandon_rate": self.abandoned / self.answered if self.answered else 0.0}

    def take_changes(self) -> tuple[bool, list[int]] | None:
        """What changed since the last call, for writing the campaign behind: None if nothing,
        else whether the definition changed (it is new, or its do-not-call list grew) and
        the positions of the contacts that changed."""
        if not self._dirty and not self._changed:
            return None
        changes = self._definition_changed, sorted(self._changed)
        self._changed, self._dirty, self._definition_changed = set(), False, False
        return changes

    def definition(self) -> dict[str, Any]:
        """Name, queue, pacing, windows, retries (``{disposition: [attempts, seconds]}``),
        do-not-call list, abandon cap, accept window (``connect_within``), ``auto_accept`` and the
        dialer's settings (``use``: its name), as plain data."""
        return {"name": self.name, "queue": self.queue, "pacing": self.pacing,
                "windows": [window_text(w) for w in self.windows],
                "retries": {d: [r.max_attempts, r.after] for d, r in sorted(self.retries.items())},
                "dnc": sorted(self.dnc), "abandon_cap": self.abandon_cap, "connect_within": self.connect_within,
                "auto_accept": self.auto_accept, "dialer": {"use": self.dialer_name, **self.dialer.settings()}}

    def export_state(self) -> dict[str, Any]:
        """Definition, state, counters, every contact with its progress, the calls under way
        and the dialer's calls not reported yet (``dialing``), as plain data for :meth:`restore`."""
        position = self._index
        return {**self.definition(), "state": self.state, "dialed": self.dialed, "answered": self.answered,
                "abandoned": self.abandoned, "failed": self.failed, "sequence": self.sequence,
                "opted_out": sorted(self.opted_out),
                "contacts": [contact.to_dict() for contact in self.contacts],
                "ready": [position[id(contact)] for contact in self._ready],
                "calls": {call: position[id(contact)] for call, contact in self._calls.items()},
                "ringing": sorted(self._ringing), "unconnected": dict(self._unconnected),
                "awaiting_dial": sorted(self._awaiting_dial), "dialing": self.dialer.export_state()}

    @classmethod
    def restore(cls, acd: ACD, dialer: Dialer, state: Mapping[str, Any], written: bool = False) -> "Campaign":
        """The campaign of :meth:`export_state` on ``acd`` (which holds its live calls already),
        dialing through ``dialer`` (made from ``state["dialer"]``): retries, drops of unconnected
        calls, the dials of connected preview calls and (``auto_accept``) the connection of answered
        calls offered now are scheduled again, the dialer's calls not reported yet too; an active
        campaign goes on pacing. A state without ``auto_accept`` (exported before it existed) has it off. ``written``: its records are stored already, so
        :meth:`take_changes` reports only later changes."""
        campaign = cls(state["name"], acd, state["queue"], dialer,
                       [Contact(**contact) for contact in state["contacts"]], pacing=state["pacing"],
                       windows=state["windows"],
                       retries={d: Retry(int(r[0]), float(r[1])) for d, r in state["retries"].items()},
                       dnc=state["dnc"], abandon_cap=state["abandon_cap"],
                       connect_within=state["connect_within"], auto_accept=state.get("auto_accept", False),
                       dialer_name=state["dialer"]["use"])
        campaign.state = state["state"]
        campaign.dialed, campaign.answered = state["dialed"], state["answered"]
        campaign.abandoned, campaign.failed = state["abandoned"], state["failed"]
        campaign.sequence = state["sequence"]
        campaign.opted_out = set(state["opted_out"])
        contacts = campaign.contacts
        campaign._ready = collections.deque(contacts[n] for n in state["ready"])
        campaign._calls = {call: contacts[n] for call, n in state["calls"].items()}
        campaign._ringing = {call: campaign._calls[call] for call in state["ringing"]}
        campaign._unconnected = dict(state["unconnected"])
        timers = acd.timers
        for contact in contacts:
            if contact.status == "retry":
                timers.at(contact.retry_at, campaign._retry, contact)
        for call, drop_at in campaign._unconnected.items():
            timers.at(drop_at, campaign._drop_if_unconnected, call)
            interaction = acd.interactions.get(call)
            for agent in sorted(interaction.offers) if campaign.auto_accept and interaction else ():
                timers.at(timers.now(), campaign._connect, call, agent)
        for call in state["awaiting_dial"]:
            campaign._awaiting_dial.add(call)
            timers.at(timers.now(), campaign._dial, call, campaign._calls[call])
        dialer.import_state(state["dialing"], campaign._result)
        if written:
            campaign.take_changes()
        campaign._schedule_pace()
        return campaign
