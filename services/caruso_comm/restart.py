"""Interactions and agents a previous run left open, closed at a cold start.

A run that ends (stopped or crashed, not handed over in a hot-swap) leaves its live
interactions open in the event log: an ``enter`` with no ending event after it. A cold
start closes them as of the log's last event (about when that run ended): an offer still
ringing is withdrawn, a connected interaction completes with disposition ``restart``
(its talk time up to then), any other is abandoned with reason ``restart`` (its wait up
to then). Agents the log shows logged in are logged out (``agent_status``, reason
``restart``). Each cold start then writes a ``restart`` event, so the next one reads only
the log after it (see docs/communication.md, "Event log"). A log without a ``restart``
event (written by versions that did not close anything) has nothing closed: its open
interactions may be months old.
"""
from __future__ import annotations

from typing import Collection, NamedTuple

from caruso_comm.eventlog import EventLog
from caruso_comm.events import (ABANDON, AGENT_STATUS, COMPLETE, CONNECT, ENTER, OFFER, OFFER_ENDINGS, RESTART,
                                TRANSFER, WITHDRAW, Event)
from caruso_comm.model import AgentStatus, Interaction, InteractionState


class LeftOver(NamedTuple):
    """What an earlier run left open, with the events that close it."""

    closed: list[tuple[Interaction, list[Event]]]   # each interaction ended, with its closing events
    withdrawn: list[Event]                           # offers still ringing of interactions kept
    logged_out: list[Event]                          # agents logged out


def left_over(log: EventLog, live: Collection[str], keep: Collection[str],
              logged_in: Collection[str]) -> LeftOver:
    """What the log shows open since the last ``restart`` event (nothing if it has none), as
    of its last event: interactions, but those in ``live`` (still served) and ``keep``
    (going on: only their ringing offers are withdrawn), and agents logged in, but those in
    ``logged_in`` (logged in now)."""
    since = log.last_id(RESTART)
    if not since:
        return LeftOver([], [], [])
    at = log.last_time()
    closed, withdrawn = [], []
    for interaction_id, events in sorted(log.open_after(since).items()):
        if interaction_id in live:
            continue
        interaction, offers = _replay(events)
        if interaction_id in keep:
            withdrawn += _withdraw(interaction, offers, at)
        else:
            closed.append((interaction, _withdraw(interaction, offers, at) + [_end(interaction, at)]))
    logged_out = [Event(at, AGENT_STATUS, None, None, agent, {"status": AgentStatus.LOGGED_OUT, "reason": RESTART})
                  for agent, event in sorted(log.last_per_agent(AGENT_STATUS, since).items())
                  if event.data.get("status") != AgentStatus.LOGGED_OUT and agent not in logged_in]
    return LeftOver(closed, withdrawn, logged_out)


def _replay(events: list[Event]) -> tuple[Interaction, set[str]]:
    """The interaction as of its last event, and the agents its offers still ring."""
    interaction, offers = None, set()
    for event in events:
        if event.event == ENTER:
            if "channel" in event.data:          # a new interaction, not a transfer or overflow
                data = event.data
                interaction = Interaction(event.interaction, event.queue, data["channel"], data["direction"],
                                          data.get("customer"), data.get("from"), data.get("to"),
                                          int(data.get("priority") or 0), created=event.time)
            interaction.queue, interaction.entered = event.queue, event.time
            interaction.state, interaction.agent = InteractionState.WAITING, None
        elif event.event == OFFER:
            offers.add(event.agent)
            interaction.state = InteractionState.OFFERED
        elif event.event == CONNECT:
            offers.discard(event.agent)
            interaction.state, interaction.agent, interaction.connected_at = (
                InteractionState.CONNECTED, event.agent, event.time)
        elif event.event in OFFER_ENDINGS:
            offers.discard(event.agent)
            if not offers and interaction.state == InteractionState.OFFERED:
                interaction.state = InteractionState.WAITING
        elif event.event == TRANSFER:
            interaction.state, interaction.agent = InteractionState.WAITING, None
    return interaction, offers


def _withdraw(interaction: Interaction, offers: set[str], at: float) -> list[Event]:
    """The events that withdraw the ``offers`` of ``interaction`` at ``at``."""
    return [Event(at, WITHDRAW, interaction.id, interaction.queue, agent, {"reason": RESTART})
            for agent in sorted(offers)]


def _end(interaction: Interaction, at: float) -> Event:
    """End ``interaction`` at ``at``: the event that says so."""
    interaction.ended = at
    if interaction.state == InteractionState.CONNECTED:
        interaction.state = InteractionState.COMPLETED
        return Event(at, COMPLETE, interaction.id, interaction.queue, interaction.agent,
                     {"talk": at - interaction.connected_at, "disposition": RESTART})
    interaction.state = InteractionState.ABANDONED
    return Event(at, ABANDON, interaction.id, interaction.queue, None,
                 {"reason": RESTART, "wait": at - interaction.entered})
