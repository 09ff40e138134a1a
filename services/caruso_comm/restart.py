"""What a previous run left open in the event log, as of its end.

A run that ends (stopped or crashed, not handed over in a hot-swap) leaves its live
interactions open in the event log: an ``enter`` with no ending event after it. A cold
start reads them back (:func:`left_over`) as of the log's last event (about when that run
ended), with the offers still ringing and the agents still logged in, and decides what
becomes of them (:mod:`caruso_comm.recovery`): taken back, or ended here (:func:`close`):
a connected interaction completes with disposition ``restart`` (its talk time up to then),
any other is abandoned with reason ``restart`` (its wait up to then) and ends ``closed``.

Each cold start writes a ``restart`` event; the next one reads the log from there, or from
its ``open_from`` (just before the oldest ``enter`` of the interactions it took back), so
the cost follows the last run and what is still open. A log without a ``restart`` event
(written by versions that did not close anything) has nothing open: its open interactions
may be months old.

Several servers may write one log (on several hosts): ``enter``, ``agent_status`` and
``restart`` name their writer (field ``server``: the name the server is registered under,
which its standby and its hot-swap successor share), and a cold start reads only its own:
the interactions whose last ``enter`` it wrote, the agents whose last status it wrote, from
its own last ``restart``. Events of versions that named no writer count as every server's.
"""
from __future__ import annotations

from typing import Collection, NamedTuple

from caruso_comm.eventlog import EventLog
from caruso_comm.events import (ABANDON, AGENT_STATUS, COMPLETE, CONNECT, ENTER, ESCALATE, NO_ANSWER, OFFER,
                                OFFER_ENDINGS, REJECT, RESTART, SERVER, TRANSFER, WITHDRAW, Event)
from caruso_comm.model import AgentStatus, Interaction, InteractionState


class Open(NamedTuple):
    """An interaction left open, as of its last event."""

    interaction: Interaction
    offers: set[str]          # the agents its offers still ring
    entered_id: int           # the log id of its last ``enter``


class LeftOver(NamedTuple):
    """What an earlier run left open."""

    open: list[Open]                     # interactions, but those live and kept
    withdrawn: list[Event]               # the ringing offers of the interactions kept
    logged_in: dict[str, Event]          # each agent logged in then (not now): its last ``agent_status``
    at: float                            # the time of the log's last event
    live_entered: list[int]              # the log ids of the last ``enter`` of the live interactions


def mine(event: Event, server: str) -> bool:
    """Whether ``server`` wrote ``event`` (one that names no writer: every server did)."""
    return event.data.get(SERVER, server) == server


def since(log: EventLog, server: str) -> int:
    """The log id after which the open interactions of ``server``'s last run are (0: no
    ``restart`` event of it)."""
    marker = log.last(RESTART, written_by=server)
    return 0 if marker is None else int(marker.data.get("open_from", marker.id))


def _open(log: EventLog, server: str) -> dict[str, list[Event]]:
    """The events of each interaction ``server`` left open since its last ``restart`` event."""
    after = since(log, server)
    found = log.open_after(after) if after else {}
    return {interaction_id: events for interaction_id, events in sorted(found.items())
            if mine(next(event for event in reversed(events) if event.event == ENTER), server)}


def open_ids(log: EventLog, server: str) -> list[str]:
    """The interactions the log shows ``server`` left open since its last ``restart`` event."""
    return list(_open(log, server))


def left_over(log: EventLog, server: str, live: Collection[str], keep: Collection[str],
              logged_in: Collection[str]) -> LeftOver:
    """What the log shows ``server`` left open since its last ``restart`` event (nothing if
    it has none), as of the log's last event: interactions, but those in ``live`` (still
    served) and ``keep`` (going on: only their ringing offers are withdrawn), and agents
    logged in, but those in ``logged_in`` (logged in now)."""
    after = since(log, server)
    if not after:
        return LeftOver([], [], {}, 0.0, [])
    at = log.last_time()
    left, withdrawn, live_entered = [], [], []
    for interaction_id, events in _open(log, server).items():
        found = _replay(events)
        if interaction_id in live:
            live_entered.append(found.entered_id)
            continue
        if interaction_id in keep:
            withdrawn += withdraw(found.interaction, found.offers, at)
        else:
            left.append(found)
    agents = {agent: event for agent, event in sorted(log.last_per_agent(AGENT_STATUS, after).items())
              if event.data.get("status") != AgentStatus.LOGGED_OUT and agent not in logged_in
              and mine(event, server)}
    return LeftOver(left, withdrawn, agents, at, live_entered)


def _replay(events: list[Event]) -> Open:
    """The interaction as of its last event."""
    interaction, offers, entered_id = None, set(), 0
    for event in events:
        if event.event == ENTER:
            if "channel" in event.data:          # a new interaction, not a transfer or overflow
                data = event.data
                interaction = Interaction(event.interaction, event.queue, data["channel"], data["direction"],
                                          data.get("customer"), data.get("from"), data.get("to"),
                                          int(data.get("priority") or 0), created=event.time)
            interaction.enter(event.queue, event.time)
            entered_id = event.id
        elif event.event == OFFER:
            offers.add(event.agent)
            interaction.state = InteractionState.OFFERED
        elif event.event == CONNECT:
            offers.discard(event.agent)
            interaction.connected_to(event.agent, event.time)
        elif event.event in OFFER_ENDINGS:
            offers.discard(event.agent)
            if event.event in (NO_ANSWER, REJECT):
                interaction.decline(event.agent)
            elif event.agent == interaction.handed_to:         # a direct transfer's offer withdrawn
                interaction.recall()
            if not offers and interaction.state == InteractionState.OFFERED:
                interaction.state = InteractionState.WAITING
        elif event.event == ESCALATE:
            interaction.stage = int(event.data["stage"])
        elif event.event == TRANSFER:
            interaction.transferred_by(event.agent, event.time, event.data.get("to_agent"))
    return Open(interaction, offers, entered_id)


def withdraw(interaction: Interaction, offers: set[str], at: float) -> list[Event]:
    """The events that withdraw the ``offers`` of ``interaction`` at ``at``."""
    return [Event(at, WITHDRAW, interaction.id, interaction.queue, agent, {"reason": RESTART})
            for agent in sorted(offers)]


def close(interaction: Interaction, at: float) -> Event:
    """End ``interaction`` at ``at``: the event that says so."""
    interaction.ended = at
    if interaction.state == InteractionState.CONNECTED:
        interaction.state = InteractionState.COMPLETED
        return Event(at, COMPLETE, interaction.id, interaction.queue, interaction.agent,
                     {"talk": at - interaction.connected_at, "disposition": RESTART})
    interaction.state = InteractionState.CLOSED
    return Event(at, ABANDON, interaction.id, interaction.queue, None,
                 {"reason": RESTART, "wait": at - interaction.entered})


def logged_out(agent: str, at: float) -> Event:
    """The event that logs ``agent`` out at ``at`` (a cold start did)."""
    return Event(at, AGENT_STATUS, None, None, agent, {"status": AgentStatus.LOGGED_OUT, "reason": RESTART})
