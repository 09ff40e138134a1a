"""The live picture as a pure state machine: feed it events in log order with
:meth:`Picture.apply`, read it with :meth:`Picture.snapshot`.

Several communication servers may write one log; an event of one may then arrive after
later ids of another (:mod:`caruso_monitor.feed`). Each server's events arrive in its own
order and concern its own interactions and agents, so such an event is applied as it
comes; the service-level window keeps its outcomes in time order.

It holds the logged-in agents (status set by the agent, state set by the ACD, and
since when), the live interactions (waiting, offered or connected, by queue), the
outcomes of the last ``window`` seconds per queue (for the service level) and the
campaigns. Replaying the event log up to an event gives the picture as of that event;
events, names and fields are those the communication server publishes
(:mod:`caruso_comm.events`).
"""
from __future__ import annotations

from bisect import insort
from collections import deque
from typing import Any, Callable, Mapping

import attrs

from caruso_comm.events import (ABANDON, AGENT_STATE, AGENT_STATUS, CAMPAIGN_STATE, COMPLETE, CONNECT, DIAL,
                                DIAL_RESULT, ENTER, NO_ANSWER, OFFER, QUEUES, REJECT, RESTART, TRANSFER, VOICEMAIL,
                                WITHDRAW, Event)

WINDOW = 1800.0
SL_TARGET = 20.0
LIVE_CAMPAIGN_STATES = ("active", "paused")


@attrs.define
class AgentView:
    id: str
    status: str
    reason: str
    state: str
    status_since: float
    state_since: float


@attrs.define
class InteractionView:
    """``state`` is ``waiting``, ``offered`` (ringing at ``offers``) or ``connected`` (to ``agent``)."""

    id: str
    queue: str
    entered: float
    channel: str = "voice"
    state: str = "waiting"
    offers: set[str] = attrs.field(factory=set)
    agent: str | None = None
    answered: bool = False


@attrs.define
class CampaignView:
    name: str
    state: str = "draft"
    contacts: int | None = None
    dialed: int = 0
    dial_answered: int = 0
    connected: int = 0
    abandoned: int = 0


class Picture:
    """The picture; ``targets`` maps queues to service-level targets (seconds), before the
    targets the communication server announces with its queues."""

    def __init__(self, window: float = WINDOW, targets: Mapping[str, float] | None = None,
                 default_target: float = SL_TARGET) -> None:
        self.window = window
        self.targets = dict(targets or {})
        self._fixed_targets = frozenset(self.targets)
        self.default_target = default_target
        self.agents: dict[str, AgentView] = {}
        self.interactions: dict[str, InteractionView] = {}
        self.queues: set[str] = set()
        self.outcomes: dict[str, deque[tuple[float, bool, bool]]] = {}
        self.campaigns: dict[str, CampaignView] = {}
        self._campaign_of: dict[str, str] = {}
        self.last_id = 0
        self.last_time = 0.0
        self._handlers: dict[str, Callable[[Event], None]] = {
            AGENT_STATUS: self._agent_status, AGENT_STATE: self._agent_state,
            ENTER: self._enter, OFFER: self._offer, NO_ANSWER: self._withdraw,
            REJECT: self._withdraw, WITHDRAW: self._withdraw, CONNECT: self._connect,
            TRANSFER: self._transfer, COMPLETE: self._end, VOICEMAIL: self._end,
            ABANDON: self._abandon, CAMPAIGN_STATE: self._campaign_state, DIAL: self._dial,
            DIAL_RESULT: self._dial_result, QUEUES: self._announced_queues}

    def apply(self, event: Event) -> None:
        """Take one event as read from the log, with its ``id`` (each writer's events in
        its log order; unknown names are ignored). ``last_id`` is the highest id taken."""
        self.last_id, self.last_time = max(self.last_id, event.id), max(self.last_time, event.time)
        if event.queue:
            self.queues.add(event.queue)
        handler = self._handlers.get(event.event)
        if handler is not None:
            handler(event)

    def _announced_queues(self, event: Event) -> None:
        """The queues the communication server routes: shown from now on, idle or not."""
        for queue in event.data["queues"]:
            self.queues.add(queue["name"])
            if queue["name"] not in self._fixed_targets:
                self.targets[queue["name"]] = float(queue["sl_target"])

    # -- agents --------------------------------------------------------------------------

    def _agent_status(self, event: Event) -> None:
        status = event.data["status"]
        if status == "logged_out":
            self.agents.pop(event.agent, None)
            return
        agent = self.agents.get(event.agent)
        if agent is None:
            self.agents[event.agent] = AgentView(event.agent, status, event.data.get("reason", ""),
                                                 "idle", event.time, event.time)
        elif (agent.status, agent.reason) != (status, event.data.get("reason", "")):   # not a restatement
            agent.status, agent.reason, agent.status_since = status, event.data.get("reason", ""), event.time

    def _agent_state(self, event: Event) -> None:
        agent = self.agents.get(event.agent)
        if agent is not None:
            agent.state, agent.state_since = event.data["state"], event.time

    # -- interactions --------------------------------------------------------------------

    def _enter(self, event: Event) -> None:
        view = self.interactions.get(event.interaction)
        if view is None:
            self.interactions[event.interaction] = InteractionView(event.interaction, event.queue, event.time,
                                                                   event.data.get("channel") or "voice")
        else:
            view.queue, view.entered, view.state, view.agent = event.queue, event.time, "waiting", None
            view.offers.clear()

    def _offer(self, event: Event) -> None:
        view = self.interactions.get(event.interaction)
        if view is not None:
            view.offers.add(event.agent)
            view.state = "offered"

    def _withdraw(self, event: Event) -> None:
        view = self.interactions.get(event.interaction)
        if view is not None:
            view.offers.discard(event.agent)
            if view.state == "offered" and not view.offers:
                view.state = "waiting"

    def _connect(self, event: Event) -> None:
        view = self.interactions.get(event.interaction)
        if view is None:
            return
        view.offers.discard(event.agent)
        view.state, view.agent = "connected", event.agent
        if not view.answered:
            view.answered = True
            target = self.targets.get(event.queue, self.default_target)
            self._outcome(event, True, float(event.data.get("wait", 0.0)) <= target)
            campaign = self._campaign(event.interaction)
            if campaign is not None:
                campaign.connected += 1

    def _transfer(self, event: Event) -> None:
        view = self.interactions.get(event.interaction)
        if view is not None:                      # its wait starts again
            view.state, view.agent, view.entered = "waiting", None, event.time

    def _end(self, event: Event) -> None:
        self.interactions.pop(event.interaction, None)
        self._campaign_of.pop(event.interaction, None)

    def _abandon(self, event: Event) -> None:
        if event.data.get("reason") == RESTART:     # nobody left: a restart of the server ended it
            self._end(event)
            return
        self._outcome(event, False, False)
        campaign = self._campaign(event.interaction)
        if campaign is not None:
            campaign.abandoned += 1
        self._end(event)

    def _outcome(self, event: Event, answered: bool, within: bool) -> None:
        if event.queue:
            insort(self.outcomes.setdefault(event.queue, deque()), (event.time, answered, within))
            self._forget(event.queue, event.time)

    def _forget(self, queue: str, now: float) -> None:
        outcomes = self.outcomes.get(queue)
        while outcomes and outcomes[0][0] <= now - self.window:
            outcomes.popleft()

    # -- campaigns -----------------------------------------------------------------------

    def _campaign(self, interaction: str | None) -> CampaignView | None:
        name = self._campaign_of.get(interaction) if interaction else None
        return self.campaigns.get(name) if name else None

    def _named_campaign(self, event: Event) -> CampaignView:
        name = str(event.data["campaign"])
        campaign = self.campaigns.get(name)
        if campaign is None:
            campaign = self.campaigns[name] = CampaignView(name)
        return campaign

    def _campaign_state(self, event: Event) -> None:
        campaign = self._named_campaign(event)
        campaign.state = event.data["state"]
        if "contacts" in event.data:
            campaign.contacts = int(event.data["contacts"])

    def _dial(self, event: Event) -> None:
        self._named_campaign(event).dialed += 1
        if event.interaction:
            self._campaign_of[event.interaction] = str(event.data["campaign"])

    def _dial_result(self, event: Event) -> None:
        if event.data.get("result") == "answered":
            self._named_campaign(event).dial_answered += 1
        elif event.interaction not in self.interactions:
            self._campaign_of.pop(event.interaction, None)

    # -- reading -------------------------------------------------------------------------

    def snapshot(self, now: float) -> dict[str, Any]:
        """The picture at ``now`` (seconds on the log's clock) as plain data."""
        agents = [{"id": a.id, "status": a.status, "reason": a.reason, "state": a.state,
                   "seconds_in_state": now - a.state_since, "seconds_in_status": now - a.status_since}
                  for a in sorted(self.agents.values(), key=lambda a: a.id)]
        waiting = [{"id": i.id, "queue": i.queue, "state": i.state, "wait": now - i.entered, "channel": i.channel,
                    "ringing": sorted(i.offers)}
                   for i in sorted(self.interactions.values(), key=lambda i: (i.entered, i.id))
                   if i.state != "connected"]
        queues = []
        for name in sorted(self.queues):
            self._forget(name, now)
            outcomes = self.outcomes.get(name, ())
            answered = sum(1 for _, was_answered, _ in outcomes if was_answered)
            within = sum(1 for _, _, was_within in outcomes if was_within)
            waits = [w["wait"] for w in waiting if w["queue"] == name]
            queues.append({"queue": name, "waiting": len(waits), "longest_wait": max(waits, default=0.0),
                           "connected": sum(1 for i in self.interactions.values()
                                            if i.queue == name and i.state == "connected"),
                           "answered": answered, "abandoned": len(outcomes) - answered,
                           "service_level": within / len(outcomes) if outcomes else None,
                           "sl_target": self.targets.get(name, self.default_target)})
        campaigns = [{"name": c.name, "state": c.state, "contacts": c.contacts, "dialed": c.dialed,
                      "answered": c.dial_answered, "connected": c.connected, "abandoned": c.abandoned,
                      "abandon_rate": c.abandoned / c.dial_answered if c.dial_answered else None,
                      "progress": min(1.0, c.dialed / c.contacts) if c.contacts else None}
                     for c in sorted(self.campaigns.values(), key=lambda c: c.name)
                     if c.state in LIVE_CAMPAIGN_STATES]
        counts: dict[str, int] = {"logged_in": len(agents)}
        for agent in agents:
            for key in (agent["status"], agent["state"]):
                counts[key] = counts.get(key, 0) + 1
        return {"time": now, "last_id": self.last_id, "agent_counts": counts, "agents": agents,
                "queues": queues, "waiting": waiting, "campaigns": campaigns}
