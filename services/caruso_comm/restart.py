"""Interactions and agents a previous run left open, closed at a cold start.

A run that ends (stopped or crashed, not handed over in a hot-swap) leaves its live
interactions open in the event log: an ``enter`` with no ending event after it. A cold
start closes them as of the log's last event (about when that run ended): an offer still
ringing is withdrawn, a connected interaction completes with disposition ``restart``
(its talk time up to then), any other is abandoned with reason ``restart`` (its wait up
to then). Agents the log shows logged in are logged out (``agent_status``, reason
``restart``). Each cold start then writes a ``restart`` event, so the next one reads only
the log after it (see docs/communication.md, "Event log").
"""
from __future__ import annotations

from typing import Collection

from caruso_comm.eventlog import EventLog
from caruso_comm.model import AgentStatus, Event, Interaction, InteractionState

RESTART = "restart"
OFFER_ENDINGS = ("no_answer", "reject", "withdraw")


def left_open(log: EventLog, keep: Collection[str]) -> list[tuple[Interaction, list[Event]]]:
    """The interactions the log shows open since the last ``restart`` event, but those in
    ``keep``, each ended (state, ``ended``) with the events that close it."""
    at = log.last_time()
    closed = []
    for interaction_id, events in sorted(log.open_after(log.last_id(RESTART)).items()):
        if interaction_id not in keep:
            interaction, offers = _replay(events)
            closed.append((interaction, _close(interaction, offers, at)))
    return closed


def left_logged_in(log: EventLog) -> list[Event]:
    """The events that log out, as of the log's last event, each agent the log shows logged
    in since the last ``restart`` event."""
    at = log.last_time()
    return [Event(at, "agent_status", None, None, agent, {"status": AgentStatus.LOGGED_OUT, "reason": RESTART})
            for agent, event in sorted(log.last_per_agent("agent_status", log.last_id(RESTART)).items())
            if event.data.get("status") != AgentStatus.LOGGED_OUT]


def _replay(events: list[Event]) -> tuple[Interaction, set[str]]:
    """The interaction as of its last event, and the agents its offers still ring."""
    interaction, offers = None, set()
    for event in events:
        if event.event == "enter":
            if "channel" in event.data:          # a new interaction, not a transfer or overflow
                data = event.data
                interaction = Interaction(event.interaction, event.queue, data["channel"], data["direction"],
                                          data.get("customer"), data.get("from"), data.get("to"),
                                          int(data.get("priority") or 0), created=event.time)
            interaction.queue, interaction.entered = event.queue, event.time
            interaction.state, interaction.agent = InteractionState.WAITING, None
        elif event.event == "offer":
            offers.add(event.agent)
            interaction.state = InteractionState.OFFERED
        elif event.event in OFFER_ENDINGS:
            offers.discard(event.agent)
            if not offers and interaction.state == InteractionState.OFFERED:
                interaction.state = InteractionState.WAITING
        elif event.event == "connect":
            offers.discard(event.agent)
            interaction.state, interaction.agent, interaction.connected_at = (
                InteractionState.CONNECTED, event.agent, event.time)
        elif event.event == "transfer":
            interaction.state, interaction.agent = InteractionState.WAITING, None
    return interaction, offers


def _close(interaction: Interaction, offers: set[str], at: float) -> list[Event]:
    """End ``interaction`` at ``at``: the events that say so."""
    closing = [Event(at, "withdraw", interaction.id, interaction.queue, agent, {"reason": RESTART})
               for agent in sorted(offers)]
    if interaction.state == InteractionState.CONNECTED:
        interaction.state = InteractionState.COMPLETED
        closing.append(Event(at, "complete", interaction.id, interaction.queue, interaction.agent,
                             {"talk": at - interaction.connected_at, "disposition": RESTART}))
    else:
        interaction.state = InteractionState.ABANDONED
        closing.append(Event(at, "abandon", interaction.id, interaction.queue, None,
                             {"reason": RESTART, "wait": at - interaction.entered}))
    interaction.ended = at
    return closing
