"""The server's outbound campaigns: made from requests, dialing through the dialers of the
hook ``caruso_dialers``, kept to the server's do-not-call list and to the customers' opt-outs,
handed over in a hot-swap.

A call list is CSV text or a query on the storage service (records without a valid number
are counted as skipped); customers who opted out (the ``opt_outs`` query) are left out when
a campaign is made, and a thread reads the opt-outs again every ``opt_outs["every"]``
seconds (default 60) so that running campaigns skip customers who opted out since. Storage
queries run outside the server's lock; everything else takes it (``with lock:``).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any, ContextManager, Iterable

from caruso_core.errors import ConfigError, Conflict, InvalidInput, NotFound
from caruso_core.zones import UTC

from caruso_comm.acd import ACD
from caruso_comm.campaign import Campaign, Contact, Retry, contacts_from_records, normalize, read_contacts
from caruso_comm.dialer import STANDARD, Dialers
from caruso_comm.events import Event
from caruso_comm.peers import Query
from caruso_comm.records import CommRecords

log = logging.getLogger(__name__)
ACTIONS = ("start", "pause", "resume", "finish")


class Outbound:
    """The campaigns of ``acd`` by name and the server's do-not-call list. ``query`` runs a
    storage query (``{"object", "where"}``) to its last record; ``records`` (with ``persist``)
    writes the numbers added to the do-not-call list; ``customers`` names the object whose
    keys are the contacts' customers (a call list queried from it takes each record's ``id``).
    Calling windows are times of day in ``zone``."""

    def __init__(self, acd: ACD, dialers: Dialers, lock: ContextManager[Any], query: Query,
                 opt_outs: dict[str, Any] | None = None, records: CommRecords | None = None,
                 customers: str = "Customer", zone: dt.tzinfo = UTC) -> None:
        self.acd, self.dialers, self._lock, self._query, self.zone = acd, dialers, lock, query, zone
        self._opt_outs, self._records, self._customers = opt_outs, records, customers
        self.campaigns: dict[str, Campaign] = {}
        self.dnc: set[str] = set()
        self._closing = threading.Event()

    def add(self, name: str, queue: str, contacts_csv: str | None = None, pacing: str = "progressive",
            windows: list[str] | None = None, retries: dict[str, list[float]] | None = None,
            dnc: list[str] | None = None, abandon_cap: float = 0.03, dialer: dict[str, Any] | None = None,
            source: str = "call list", contacts_query: dict[str, Any] | None = None,
            connect_within: float = 2.0, auto_accept: bool = False) -> dict[str, Any]:
        """A campaign in state draft (see the service's ``add_campaign``); its summary with
        ``skipped`` and ``opted_out``."""
        if (contacts_csv is None) == (contacts_query is None):
            raise InvalidInput("give the call list as contacts_csv or as contacts_query")
        skipped = 0
        if contacts_query is not None:
            of_customers = contacts_query.get("object") == self._customers
            contacts, skipped = contacts_from_records(self._query(contacts_query),
                                                      contacts_query.get("number", "phone"),
                                                      contacts_query.get("customer", "id" if of_customers else None))
        else:
            contacts = read_contacts(contacts_csv, source)
        contacts, opted_out = self._without_opt_outs(contacts)
        rules = {str(d): Retry(int(rule[0]), float(rule[1])) for d, rule in (retries or {}).items()}
        with self._lock:
            if name in self.campaigns:
                raise Conflict(f"campaign {name!r} exists already")
            dialer_name, network = self.dialers.make(dialer or {})
            campaign = Campaign(name, self.acd, queue, network, contacts, pacing=pacing,
                                windows=windows or ("00:00-24:00",), retries=rules,
                                dnc=[*self.dnc, *(dnc or ())], abandon_cap=abandon_cap,
                                connect_within=connect_within, auto_accept=auto_accept, dialer_name=dialer_name,
                                zone=self.zone)
            self.campaigns[name] = campaign
            return dict(campaign.summary(), skipped=skipped, opted_out=opted_out)

    def act(self, name: str, action: str | None = None) -> dict[str, Any]:
        """A campaign's summary, after ``action`` (start, pause, resume, finish) if given."""
        with self._lock:
            if name not in self.campaigns:
                raise NotFound(f"no campaign {name!r}")
            campaign = self.campaigns[name]
            if action is not None:
                if action not in ACTIONS:
                    raise InvalidInput(f"campaign action {action!r}: use start, pause, resume or finish")
                getattr(campaign, action)()
            return campaign.summary()

    def summaries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [campaign.summary() for _, campaign in sorted(self.campaigns.items())]

    def add_dnc(self, numbers: Iterable[str]) -> int:
        """Add numbers to the server's do-not-call list and every campaign's; the list's size.
        All or none: InvalidInput names the first number that is not one."""
        normalized = [normalize(number) for number in numbers]
        with self._lock:
            for number in normalized:
                if self._records is not None and number not in self.dnc:
                    self._records.added_dnc(number, time.time())
                self.dnc.add(number)
                for campaign in self.campaigns.values():
                    campaign.add_dnc(number)
            return len(self.dnc)

    def call(self, interaction: str) -> dict[str, Any] | None:
        """What the campaign placing ``interaction`` says of it (``Campaign.call``), None if no
        campaign placed it (under the lock)."""
        for campaign in self.campaigns.values():
            found = campaign.call(interaction)
            if found is not None:
                return found
        return None

    def observe(self, event: Event) -> None:
        """Every campaign follows its calls through the ACD's events (under the lock)."""
        for campaign in self.campaigns.values():
            campaign.observe(event)

    # -- opt-outs ------------------------------------------------------------------------

    def _without_opt_outs(self, contacts: list[Contact]) -> tuple[list[Contact], int]:
        """The contacts whose customer did not opt out, and how many did."""
        if not self._opt_outs:
            return contacts, 0
        refused = self._opted_out()
        kept = [contact for contact in contacts if contact.customer not in refused]
        return kept, len(contacts) - len(kept)

    def _opted_out(self) -> set[str]:
        """The customers who opted out now (the ``opt_outs`` query on the storage service)."""
        customer = self._opt_outs.get("customer", "customer_id")
        return {str(record.get(customer)) for record in self._query(self._opt_outs)}

    def start(self) -> None:
        """Follow the opt-outs, if configured, in a thread of their own."""
        if self._opt_outs:
            threading.Thread(target=self._follow_opt_outs, name="comm-opt-outs", daemon=True).start()

    def stop(self) -> None:
        self._closing.set()

    def _follow_opt_outs(self) -> None:
        while not self._closing.wait(float(self._opt_outs.get("every", 60))):
            try:
                refused = self._opted_out()
            except Exception:
                log.exception("reading the opt-outs failed; campaigns keep the last ones")
                continue
            with self._lock:
                for campaign in self.campaigns.values():
                    campaign.opt_out(refused)

    # -- taking up and handing over (under the lock) ---------------------------------------

    def restore(self, state: dict[str, Any], written: bool) -> None:
        """Hold again a campaign of ``Campaign.export_state`` (or stored), with a dialer made
        from its settings (``written``: its records are stored already)."""
        _, dialer = self.dialers.make(state["dialer"])
        self.campaigns[state["name"]] = Campaign.restore(self.acd, dialer, state, written)

    def take_up(self, stored: list[tuple[dict[str, Any], bool]], dnc: Iterable[str]) -> list[str]:
        """Hold the stored campaigns again (each a state of ``stored_campaign`` and whether
        its records are stored as it is) and the server's do-not-call list; the names of
        those held. A campaign that cannot be made again (e.g. its queue is gone) is logged
        and left out."""
        self.dnc = set(dnc)
        held = []
        for state, written in stored:
            try:
                self.restore(state, written)
            except ConfigError as error:
                log.error("stored campaign %s not restored: %s", state["name"], error)
                continue
            held.append(state["name"])
        return held

    def export_state(self) -> dict[str, Any]:
        return {"campaigns": [campaign.export_state() for campaign in self.campaigns.values()],
                "dnc": sorted(self.dnc)}

    def import_state(self, state: dict[str, Any], written: bool) -> None:
        """Hold exactly the campaigns and do-not-call list of :meth:`export_state`."""
        self.forget()
        self.dnc = set(state.get("dnc", ()))
        for data in state.get("campaigns", ()):
            self.restore(_with_named_dialer(data), written)

    def forget(self) -> None:
        self.campaigns.clear()


def _with_named_dialer(state: dict[str, Any]) -> dict[str, Any]:
    """A campaign's exported state as made now: one exported before campaigns named their
    dialer holds the simulated dialer's settings in the dialer's own state."""
    if "dialing" in state:
        return state
    dialing = dict(state["dialer"])
    return {**state, "dialer": {"use": STANDARD, **dialing.pop("settings")}, "dialing": dialing}
