"""The communication server as a caruso service (``caruso.comm/1``).

It runs the ACD on Unix time: a thread runs due timers (offer timeouts, wrap-up,
escalation, overflow) and flushes the event log every second. All operations take
one lock, so the ACD sees one caller at a time. Agents, queues and interactions are
kept in memory and handed to the successor in a hot-swap (see docs/communication.md);
events go to the event log table and to the live feed that :meth:`CommServer.events`
long-polls.
"""
from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from typing import Any, Callable, Iterator, TypeVar

import attrs

from caruso_core import connect, plugins, remote, service
from caruso_core.errors import ConfigError, Conflict, InvalidInput, NotFound
from caruso_core.deployment import default_sqlite_url

from caruso_comm.acd import ACD
from caruso_comm.campaign import Campaign, CampaignState, Contact, Retry, contacts_from_records, normalize, read_contacts
from caruso_comm.eventlog import EventLog
from caruso_comm.feed import EventFeed
from caruso_comm.history import ContactHistory
from caruso_comm.ivr import Ivr, menu_from_dict
from caruso_comm.model import AgentStatus, Event, InteractionState, queue_from_dict
from caruso_comm.records import (AGENT, CAMPAIGN, CONTACT, DNC, INTERACTION, OBJECTS, QUEUE, VOICEMAIL,
                                 CommRecords, stored_campaign, stored_voicemail)
from caruso_comm.restart import RESTART, left_over
from caruso_comm.simulator import SimDialer
from caruso_comm.timers import Timers
from caruso_comm.voicemail import VoicemailBox

log = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0
PAGE = 10_000
T = TypeVar("T")


@service(name="comm", interface="caruso.comm/1", version="0.1.0", autostart=True)
class CommServer:
    """Agent, interaction, supervisor and monitor operations of the communication server.

    Configuration: ``queues`` (list of queue definitions, see docs/communication.md),
    ``db`` (event log URL; default ``comm.db`` in the data folder), ``callback_queues``
    (queue -> queue for voicemail callbacks), ``feed_size`` (events kept for monitors),
    ``channels`` (channel name -> its configuration; see docs/communication.md),
    ``contact_history`` (``{"object": "Customer"}``: ended interactions with a customer go
    to that object's contact history in the storage service), ``ivr`` (IVR menus: one
    ``{"script", "routes", "default", "numbers"}`` or a list of them; run by the script
    engine service ``caruso.scripts/1``), ``persist`` (true: queues, agents, interactions,
    voicemail, campaigns and the do-not-call list are written to the storage service, whose
    model includes the module ``comm``; all but interactions are read from it at
    :meth:`cold_start`, which routes the callback tasks of voicemail again), ``opt_outs``
    (``{"object", "where", "customer"}``: a storage query for the customers who opted out
    of calls, and ``every``: seconds between two readings, default 60; call lists leave
    them out, running campaigns skip them).
    """

    def __init__(self, queues: list[dict[str, Any]] | None = None, db: str | None = None,
                 callback_queues: dict[str, str] | None = None, feed_size: int = 10_000,
                 channels: dict[str, dict[str, Any]] | None = None,
                 contact_history: dict[str, str] | None = None,
                 ivr: dict[str, Any] | list[dict[str, Any]] | None = None, persist: bool = False,
                 opt_outs: dict[str, Any] | None = None) -> None:
        self._lock = threading.Condition(threading.RLock())
        self._log = EventLog(db or default_sqlite_url("comm.db"))
        self._feed_size = feed_size
        self._feed = EventFeed(feed_size)
        self._timers = Timers(time.time)
        self._acd = ACD(self._timers, self._record)
        self._voicemail = VoicemailBox(self._acd, callback_queues)
        self._campaigns: dict[str, Campaign] = {}
        self._dnc: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closing = threading.Event()
        self._active = True    # False once a swap handed the work to another instance
        self._handing_over = False  # export_state happened, no deactivate, import_state or resume since
        self._proxies: dict[str, Any] = {}
        self._opt_outs = opt_outs
        self._history = ContactHistory(contact_history["object"], self._storage_proxy) \
            if contact_history else None
        for definition in queues or ():
            self._acd.add_queue(queue_from_dict(definition))
        self._records = CommRecords(self._acd, self._storage_proxy, voicemail=self._voicemail,
                                    campaigns=lambda: self._campaigns) if persist else None
        menus = [ivr] if isinstance(ivr, dict) else list(ivr or ())
        self._ivr = Ivr(self._acd, lambda: self._proxy("caruso.scripts/1"), map(menu_from_dict, menus),
                        self._voicemail, self._critical)
        installed = plugins.provided("caruso_channels")
        self._channels = {}
        for name, settings in (channels or {}).items():
            if name not in installed:
                raise ConfigError(f"no channel {name!r} (installed: {', '.join(sorted(installed)) or 'none'})")
            try:
                self._channels[name] = installed[name](self, **settings)
            except TypeError as error:
                raise ConfigError(f"channel {name!r}: {error}") from None

    def _record(self, event: Event) -> None:
        self._log.append(event)
        self._feed.publish(event)
        self._voicemail.observe(event)
        if self._records is not None:
            self._records.observe(event)
        if self._history is not None:
            self._history(event)
        for campaign in self._campaigns.values():
            campaign.observe(event)

    @contextlib.contextmanager
    def _critical(self) -> Iterator[None]:
        """Hold the server's lock; on leaving, wake the timer thread (timers may have changed)."""
        with self._lock:
            try:
                yield
            finally:
                self._lock.notify()

    def _locked(self, operation: Callable[[], T]) -> T:
        with self._critical():
            return operation()

    # -- lifecycle -------------------------------------------------------------------

    def _proxy(self, interface: str) -> Any:
        """A client proxy of another service, found through the manager on first use."""
        if interface not in self._proxies:
            self._proxies[interface] = connect().get(interface)
        return self._proxies[interface]

    def _storage_proxy(self) -> Any:
        return self._proxy("caruso.storage/1")

    def start(self) -> None:
        if self._records is not None:
            self._check_model()
            self._records.start()
        if self._history is not None:
            self._history.start()
        for channel in self._channels.values():
            channel.start()
        self._thread = threading.Thread(target=self._run_timers, name="comm-timers", daemon=True)
        self._thread.start()
        if self._opt_outs:
            threading.Thread(target=self._follow_opt_outs, name="comm-opt-outs", daemon=True).start()

    def _check_model(self) -> None:
        """ConfigError unless the storage model has the objects of the module ``comm``."""
        storage = self._storage_proxy()
        for name in OBJECTS:
            try:
                storage.describe(name)
            except NotFound:
                raise ConfigError(f"comm: persist needs the object {name} in the storage model: "
                                  "add <include module=\"comm\"/> to the model") from None

    def cold_start(self) -> None:
        """Active without a predecessor's state (a plain start, or a swap with nothing handed
        over). An instance that a swap had deactivated first drops the work it holds (its
        successor's is newer). The interactions an earlier run left open are closed (see
        :mod:`caruso_comm.restart`), but the callback tasks routed again; with ``persist``
        the server takes up what earlier runs stored (see :meth:`_take_up`), read now, not
        at :meth:`start`, which a standby also runs."""
        stored = None if self._records is None else self._read_stored()
        with self._critical():
            if not self._active:
                self._forget_work()
            self._active = True
            self.resume()        # a hand-over nobody ended is over
            self._close_left_open(keep={r["callback"] for r in stored[VOICEMAIL]} if stored else set())
            if stored is not None:
                self._take_up(stored)

    def _close_left_open(self, keep: set[str]) -> None:
        """Close the interactions the event log shows open (the end of an earlier run), but
        those the ACD holds (channels start before the cold start) and those in ``keep``
        (their offers still ringing are withdrawn); their records get the final state. Log
        out the agents it shows logged in but not logged in to the ACD. Then a ``restart``
        event."""
        self._log.flush()
        logged_in = {a.id for a in self._acd.agents.values() if a.status != AgentStatus.LOGGED_OUT}
        left = left_over(self._log, set(self._acd.interactions), keep, logged_in)
        for event in left.withdrawn:
            self._record(event)
        for interaction, events in left.closed:
            if self._history is not None:
                self._history.known(interaction)
            for event in events:
                self._record(event)
            if self._records is not None:
                self._records.closed(interaction, RESTART if interaction.state == InteractionState.COMPLETED
                                     else None)
        for event in left.logged_out:
            self._record(event)
        self._record(Event(time.time(), RESTART, data={"closed": len(left.closed),
                                                       "logged_out": len(left.logged_out)}))

    def _forget_work(self) -> None:
        """Drop agents, interactions, calls in the IVR, voicemail, campaigns and timers (the
        work a swap handed to another instance) and what the records noted of it; keep the
        queue definitions."""
        self._timers.clear()
        self._acd.forget_work()
        if self._records is not None:
            self._records.forget()
        self._ivr.import_state([])
        self._voicemail.restore([])
        self._campaigns.clear()

    def _read_stored(self) -> dict[str, list[dict[str, Any]]]:
        """The stored queues, agents, do-not-call list, campaigns with their contacts, and
        voicemail not called back."""
        new = {"field": "state", "value": "new"}
        return {kind: self._query({"object": kind, "where": new if kind == VOICEMAIL else None})
                for kind in (QUEUE, AGENT, DNC, CAMPAIGN, CONTACT, VOICEMAIL)}

    def _take_up(self, stored: dict[str, list[dict[str, Any]]]) -> None:
        """Take up the records of :meth:`_read_stored`: queues not in the configuration are
        defined again (in an order where overflow and escalation targets come first), agents
        become known as logged out, the do-not-call list comes back, campaigns come back in
        their stored state (an active one paused), messages not called back are held again
        and their callback tasks routed again (same ids)."""
        definitions = self._records.load(stored[QUEUE], stored[AGENT])
        while definitions:
            waiting = []
            for definition in definitions:
                try:
                    self._acd.add_queue(queue_from_dict(definition))
                except (ConfigError, NotFound):
                    waiting.append(definition)
            if len(waiting) == len(definitions):
                raise ConfigError(f"comm: stored queues {', '.join(d['name'] for d in waiting)} "
                                  "name queues that do not exist (overflow or escalation)")
            definitions = waiting
        for queue in self._acd.queues.values():
            self._records.changed_queue(queue)
        self._dnc = {record["number"] for record in stored[DNC]}
        self._records.note_stored(DNC, self._dnc)
        contacts_of: dict[str, list[dict[str, Any]]] = {}
        for contact in stored[CONTACT]:
            contacts_of.setdefault(contact["campaign"], []).append(contact)
        for record in stored[CAMPAIGN]:
            contacts = contacts_of.get(record["name"], [])
            try:
                self._campaigns[record["name"]] = self._restore_campaign(
                    stored_campaign(record, contacts), written=record["state"] != CampaignState.ACTIVE)
            except ConfigError as error:
                log.error("stored campaign %s not restored: %s", record["name"], error)
                continue
            self._records.note_stored(CAMPAIGN, [record["name"]])
            self._records.note_stored(CONTACT, (c["id"] for c in contacts))
        messages = [stored_voicemail(record) for record in stored[VOICEMAIL]]
        for message in self._voicemail.load(messages):
            log.error("voicemail %s (queue %s): its callback queue does not exist; "
                      "the callback task is not routed", message.id, message.queue)
        self._records.note_stored(VOICEMAIL, (m.id for m in messages))
        self._records.note_stored(INTERACTION, (m.callback for m in messages))

    def _run_timers(self) -> None:
        """Run due timers and flush the event log; a failing timer or flush is logged and
        the loop goes on (the event log keeps unwritten rows for the next flush)."""
        flushed = time.monotonic()
        with self._lock:
            while not self._stopping:
                running = self._active and not self._handing_over
                while running and (due := self._timers.pop_due(time.time())) is not None:
                    function, arguments = due
                    try:
                        function(*arguments)
                    except Exception:
                        log.exception("communication server timer %s failed", function.__name__)
                if time.monotonic() - flushed >= FLUSH_SECONDS:
                    if self._records is not None:
                        self._records.collect()
                    try:
                        self._log.flush()
                    except Exception:
                        log.exception("event log flush failed; retrying")
                    flushed = time.monotonic()
                due = self._timers.next_time() if running else None
                wait = FLUSH_SECONDS if due is None else min(FLUSH_SECONDS, max(0.0, due - time.time()))
                self._lock.wait(wait)

    def stop(self) -> None:
        self._closing.set()
        for channel in self._channels.values():
            channel.stop()
        with self._lock:
            self._stopping = True
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._history is not None:
            self._history.stop()
        if self._records is not None:
            with self._lock:
                self._records.collect()
            self._records.stop()
        self._log.close()

    def export_state(self) -> dict[str, Any]:
        """Queues, agents, live interactions, calls in the IVR, voicemail, campaigns and the
        feed's position (hot-swap), and the records not written yet. From then on this
        instance fires no timers (so it dials nobody the successor dials) and writes no
        records until ``deactivate`` (the swap happened), ``import_state`` or ``resume``
        (it did not)."""
        with self._lock:
            self._log.flush()
            self._handing_over = True
            return {"acd": self._acd.export_state(), "feed": self._feed.last,
                    "voicemail": [m.to_dict() for m in self._voicemail.messages()],
                    "ivr": self._ivr.export_state(),
                    "campaigns": [c.export_state() for c in self._campaigns.values()],
                    "dnc": sorted(self._dnc),
                    "records": None if self._records is None else self._records.export_state()}

    def deactivate(self) -> None:
        """Timers (offer timeouts, wrap-up, escalation, dialing) stop firing here. After a
        swap the records handed over are dropped: the instance that imported the state runs
        the timers and writes the records. Records nobody took over (no ``export_state``, as
        when the service is unregistered) stay, for :meth:`stop` to write. A later
        ``import_state`` (a roll-back) replaces what this instance still holds."""
        with self._lock:
            self._active, self._handing_over = False, False
            if self._records is not None:
                self._records.deactivate()

    def resume(self) -> None:
        """The swap after ``export_state`` did not happen: the instance goes on at once with
        its timers and writes the records it handed over."""
        with self._critical():
            self._handing_over = False
            if self._records is not None:
                self._records.resume()

    def import_state(self, state: dict[str, Any]) -> None:
        """Take over from the instance that exported ``state``; connected interactions stay
        connected, pending offers are made again (see ``ACD.import_state``)."""
        with self._lock:
            if not self._active:
                self._forget_work()
            self._active, self._handing_over = True, False
            self._feed = EventFeed(self._feed_size, start=state["feed"])
            self._voicemail.restore(state["voicemail"])
            self._acd.import_state(state["acd"])
            self._ivr.import_state(state.get("ivr", []))
            self._dnc = set(state.get("dnc", ()))
            written = state.get("records") is not None     # or handed over to be written
            self._campaigns = {data["name"]: self._restore_campaign(data, written)
                               for data in state.get("campaigns", ())}
            if self._records is not None and state.get("records") is not None:
                self._records.import_state(state["records"])

    def health(self) -> dict[str, Any]:
        with self._lock:
            return {"status": "ok", "agents": len(self._acd.agents),
                    "interactions": len(self._acd.interactions)}

    # -- agents ----------------------------------------------------------------------

    @remote
    def login(self, agent: str, skills: dict[str, int] | None = None,
              capacity: dict[str, int] | None = None, status: str = "available") -> dict[str, Any]:
        """Log in (or update skills and capacity); returns the agent."""
        def log_in() -> dict[str, Any]:
            snapshot = self._acd.login(agent, skills, capacity, status).snapshot()
            if self._records is not None:
                self._records.changed_agent(agent)
            return snapshot
        return self._locked(log_in)

    @remote
    def logout(self, agent: str) -> None:
        self._locked(lambda: self._acd.logout(agent))

    @remote
    def set_status(self, agent: str, status: str, reason: str = "") -> None:
        """``available`` or ``break`` with a reason (agents and supervisors)."""
        self._locked(lambda: self._acd.set_status(agent, status, reason))

    @remote
    def agent(self, agent: str) -> dict[str, Any]:
        """The agent with status, state and the ids of their interactions (offered first)."""
        return self._locked(lambda: self._acd.agent(agent).snapshot())

    @remote
    def accept(self, agent: str, interaction: str) -> dict[str, Any]:
        return self._locked(lambda: self._acd.accept(agent, interaction).snapshot())

    @remote
    def reject(self, agent: str, interaction: str) -> None:
        self._locked(lambda: self._acd.reject(agent, interaction))

    @remote
    def complete(self, agent: str, interaction: str, disposition: str = "") -> None:
        self._locked(lambda: self._acd.complete(agent, interaction, disposition))

    @remote
    def end_wrap_up(self, agent: str, interaction: str) -> None:
        self._locked(lambda: self._acd.end_wrap_up(agent, interaction))

    @remote
    def transfer(self, agent: str, interaction: str, queue: str | None = None,
                 to_agent: str | None = None) -> None:
        """To a queue or directly to another agent with free capacity."""
        self._locked(lambda: self._acd.transfer(agent, interaction, queue=queue, agent=to_agent))

    # -- interactions ----------------------------------------------------------------

    @remote
    def arrive(self, queue: str, channel: str | None = None, customer: str | None = None,
               from_: str | None = None, to: str | None = None, priority: int = 0,
               id: str | None = None) -> dict[str, Any]:
        """A new inbound interaction in ``queue``; returns it."""
        return self._locked(lambda: self._acd.arrive(
            queue, id=id, channel=channel, customer=customer, from_=from_, to=to,
            priority=priority).snapshot())

    @remote
    def abandon(self, interaction: str, reason: str = "caller") -> None:
        self._locked(lambda: self._acd.abandon(interaction, reason))

    @remote
    def interaction(self, interaction: str) -> dict[str, Any]:
        """A live interaction; while waiting also ``position`` and ``expected_wait`` (seconds)."""
        def read() -> dict[str, Any]:
            found = self._acd.interactions.get(interaction)
            if found is None:
                raise NotFound(f"no live interaction {interaction!r}")
            snapshot = found.snapshot()
            if found.state == InteractionState.WAITING:
                snapshot.update(position=self._acd.position(interaction),
                                expected_wait=self._acd.expected_wait(interaction))
            return snapshot
        return self._locked(read)

    # -- supervisor ------------------------------------------------------------------

    @remote
    def add_queue(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Define a queue (keys as in docs/communication.md); returns it."""
        queue = queue_from_dict(definition)

        def add() -> None:
            self._acd.add_queue(queue)
            if self._records is not None:
                self._records.changed_queue(queue)
        self._locked(add)
        return attrs.asdict(queue)

    @remote
    def queues(self) -> list[dict[str, Any]]:
        """Every queue with its settings, ``waiting`` count and ``staffing``."""
        def read() -> list[dict[str, Any]]:
            return [dict(attrs.asdict(queue), waiting=len(self._acd.waiting(name)),
                         staffing=self._acd.staffing(name))
                    for name, queue in sorted(self._acd.queues.items())]
        return self._locked(read)

    @remote
    def agents(self) -> list[dict[str, Any]]:
        return self._locked(lambda: [a.snapshot() for _, a in sorted(self._acd.agents.items())])

    @remote
    def waiting(self, queue: str) -> list[dict[str, Any]]:
        """The interactions waiting in ``queue``, in routing order."""
        return self._locked(lambda: [i.snapshot() for i in self._acd.waiting(queue)])

    # -- channels --------------------------------------------------------------------

    @remote
    def channels(self) -> dict[str, dict[str, Any]]:
        """The running channels and where customers reach them."""
        return {name: channel.info() for name, channel in self._channels.items()}

    @remote
    def send(self, agent: str, interaction: str, text: str) -> None:
        """An agent's message to the customer of a connected interaction, through its channel."""
        def check() -> dict[str, Any]:
            found = self._acd.interactions.get(interaction)
            if found is None or found.agent != agent or found.state != InteractionState.CONNECTED:
                raise Conflict(f"agent {agent!r} is not connected to interaction {interaction!r}")
            return found.snapshot()
        snapshot = self._locked(check)
        self._channel(snapshot["channel"]).send(snapshot, agent, text)

    @remote
    def chat_pass(self, customer: str, name: str = "", channel: str = "webchat") -> dict[str, Any]:
        """For a customer who signed in to a portal: ``{"url", "expires"}``, the chat page of
        ``channel`` with a single-use pass, valid for a few minutes, that starts a chat whose
        customer is ``customer`` (shown to the agent as ``name``). The only way a chat gets
        a customer (see docs/communication.md)."""
        found = self._channel(channel)
        if not hasattr(found, "chat_pass"):
            raise NotFound(f"channel {channel!r} takes no chat passes")
        return found.chat_pass(customer, name)

    @remote
    def messages(self, interaction: str, channel: str) -> list[dict[str, Any]]:
        """The messages of an interaction of a text channel, oldest first."""
        return self._channel(channel).messages(interaction)

    def _channel(self, name: str) -> Any:
        if name not in self._channels:
            raise NotFound(f"no running channel {name!r}")
        return self._channels[name]

    # -- campaigns -------------------------------------------------------------------

    @remote
    def add_campaign(self, name: str, queue: str, contacts_csv: str | None = None,
                     pacing: str = "progressive", windows: list[str] | None = None,
                     retries: dict[str, list[float]] | None = None, dnc: list[str] | None = None,
                     abandon_cap: float = 0.03, dialer: dict[str, Any] | None = None,
                     source: str = "call list", contacts_query: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
        """A campaign in state draft. The call list is CSV text (``number``, ``customer``) or
        ``contacts_query``: ``{"object", "where", "number", "customer"}`` run on the storage
        service (records without a valid number are counted as ``skipped``). ``retries`` as ``{disposition: [max_attempts, after_seconds]}``; ``dialer`` holds the
        simulated dialer's settings (``answer_rate``, ``busy_rate``, ``ring``, ``busy_after``,
        ``no_answer_after``, ``seed``) until a telephony channel provides dialing; it runs
        on the server's timers, so dial results reach the campaign under the server's lock."""
        if (contacts_csv is None) == (contacts_query is None):
            raise InvalidInput("give the call list as contacts_csv or as contacts_query")
        skipped = 0
        if contacts_query is not None:
            contacts, skipped = contacts_from_records(self._query(contacts_query),
                                                      contacts_query.get("number", "phone"),
                                                      contacts_query.get("customer", "id"))
        else:
            contacts = read_contacts(contacts_csv, source)
        contacts, opted_out = self._without_opt_outs(contacts)
        settings = dict(dialer or {})
        rules = {str(d): Retry(int(rule[0]), float(rule[1])) for d, rule in (retries or {}).items()}

        def add() -> dict[str, Any]:
            if name in self._campaigns:
                raise Conflict(f"campaign {name!r} exists already")
            network = SimDialer(self._timers, random.Random(settings.pop("seed", 0)), **settings)
            campaign = Campaign(name, self._acd, queue, network, contacts,
                                pacing=pacing, windows=windows or ("00:00-24:00",), retries=rules,
                                dnc=[*self._dnc, *(dnc or ())], abandon_cap=abandon_cap)
            self._campaigns[name] = campaign
            return dict(campaign.summary(), skipped=skipped, opted_out=opted_out)
        try:
            return self._locked(add)
        except TypeError as error:
            raise ConfigError(f"campaign {name!r}: dialer settings: {error}") from None

    def _restore_campaign(self, state: dict[str, Any], written: bool) -> Campaign:
        """A campaign of ``Campaign.export_state`` on this server's ACD and simulated dialer
        (``written``: its records are stored already)."""
        dialer = SimDialer(self._timers, random.Random(), **state["dialer"]["settings"])
        return Campaign.restore(self._acd, dialer, state, written)

    def _without_opt_outs(self, contacts: list[Contact]) -> tuple[list[Contact], int]:
        """The contacts whose customer did not opt out (per ``opt_outs``), and how many did."""
        if not self._opt_outs:
            return contacts, 0
        refused = self._opted_out()
        kept = [contact for contact in contacts if contact.customer not in refused]
        return kept, len(contacts) - len(kept)

    def _opted_out(self) -> set[str]:
        """The customers who opted out now (the ``opt_outs`` query on the storage service)."""
        customer = self._opt_outs.get("customer", "customer_id")
        return {str(record.get(customer)) for record in self._query(self._opt_outs)}

    def _follow_opt_outs(self) -> None:
        """Every ``opt_outs["every"]`` seconds (default 60), campaigns learn who opted out
        since their call list was made; the query runs outside the server's lock."""
        while not self._closing.wait(float(self._opt_outs.get("every", 60))):
            try:
                refused = self._opted_out()
            except Exception:
                log.exception("reading the opt-outs failed; campaigns keep the last ones")
                continue
            with self._critical():
                for campaign in self._campaigns.values():
                    campaign.opt_out(refused)

    def _query(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every record of a storage query, page by page."""
        storage, records = self._storage_proxy(), []
        while True:
            page = storage.query(query["object"], where=query.get("where"), limit=PAGE,
                                 offset=len(records))
            records += page
            if len(page) < PAGE:
                return records

    @remote
    def campaigns(self) -> list[dict[str, Any]]:
        return self._locked(lambda: [c.summary() for _, c in sorted(self._campaigns.items())])

    @remote
    def campaign(self, name: str, action: str | None = None) -> dict[str, Any]:
        """A campaign's summary, after ``action`` (start, pause, resume, finish) if given."""
        def act() -> dict[str, Any]:
            if name not in self._campaigns:
                raise NotFound(f"no campaign {name!r}")
            campaign = self._campaigns[name]
            if action is not None:
                if action not in ("start", "pause", "resume", "finish"):
                    raise InvalidInput(f"campaign action {action!r}: use start, pause, resume or finish")
                getattr(campaign, action)()
            return campaign.summary()
        return self._locked(act)

    @remote
    def add_dnc(self, numbers: list[str]) -> int:
        """Add numbers to the server's do-not-call list (campaigns added later start with it)
        and to that of every campaign; returns the list's size. All or none: InvalidInput
        names the first number that is not one."""
        normalized = [normalize(number) for number in numbers]

        def add() -> int:
            for number in normalized:
                if self._records is not None and number not in self._dnc:
                    self._records.added_dnc(number, time.time())
                self._dnc.add(number)
                for campaign in self._campaigns.values():
                    campaign.add_dnc(number)
            return len(self._dnc)
        return self._locked(add)

    # -- voicemail -------------------------------------------------------------------

    @remote
    def leave_voicemail(self, queue: str, content: bytes | str, caller: str | None = None,
                        customer: str | None = None) -> dict[str, Any]:
        """Store a message for ``queue``; its callback task is routed at once."""
        return self._locked(lambda: self._voicemail.deposit(
            queue, content, caller=caller, customer=customer).to_dict())

    @remote
    def voicemails(self, queue: str | None = None) -> list[dict[str, Any]]:
        return self._locked(lambda: [m.to_dict() for m in self._voicemail.messages(queue)])

    # -- IVR -----------------------------------------------------------------------

    @remote
    def ivrs(self) -> list[dict[str, Any]]:
        """The IVR menus: ``script``, ``numbers`` (none: every other number), ``routes``, ``default``."""
        return [dict(attrs.asdict(menu), numbers=list(menu.numbers)) for menu in self._ivr.menus]

    @remote
    def ivr_call(self, call_id: str, to: str | None = None, caller: str | None = None,
                 customer: str | None = None) -> dict[str, Any]:
        """A voice call to entry number ``to`` enters the IVR menu answering it: the first turn
        ``{"prompt", "done", "target"}`` (NotFound if no menu answers ``to``)."""
        return self._ivr.call(call_id, to=to, caller=caller, customer=customer)

    @remote
    def ivr_press(self, call_id: str, keys: str) -> dict[str, Any]:
        """The caller keyed ``keys`` (digits, ``*``, ``#``): the next turn. When ``done``, the call
        went to ``target``: a queue (it is an interaction there now, with the same id),
        ``voicemail:QUEUE`` (the caller may :meth:`ivr_message`), or ``self_service``."""
        return self._ivr.press(call_id, keys)

    @remote
    def ivr_message(self, call_id: str, content: bytes | str) -> dict[str, Any]:
        """The message of a caller the IVR routed to voicemail; returns it (see :meth:`leave_voicemail`)."""
        return self._ivr.leave_message(call_id, content)

    @remote
    def ivr_hang_up(self, call_id: str) -> None:
        """The caller hung up in the IVR (event ``ivr_abandon``) or before leaving a message."""
        self._ivr.hang_up(call_id)

    # -- monitor ---------------------------------------------------------------------

    @remote
    def events(self, since: int = 0, timeout: float = 0.0) -> dict[str, Any]:
        """Events numbered above ``since``, waiting up to ``timeout`` seconds (at most 30)
        for one: ``{"last", "events", "missed"}`` (see :class:`~caruso_comm.feed.EventFeed`)."""
        return self._feed.since(int(since), min(float(timeout), 30.0))


