"""The ACD: queues, agents and interactions, routed event by event on the clock of its timers.

Every change is reported to ``sink`` as an :class:`~caruso_comm.events.Event`, in order
(names and data: :mod:`caruso_comm.events`). The ACD is not
thread-safe: one caller at a time (the service holds a lock; the simulator is single
threaded). Routing work per event is bounded by the pools involved, never by the
number of agents.
"""
from __future__ import annotations

import uuid
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import attrs

from caruso_core.errors import ConfigError, Conflict, InvalidInput, NotFound

from caruso_comm import routing
from caruso_comm.events import (ABANDON, AGENT_STATE, AGENT_STATUS, COMPLETE, CONNECT, ENTER, ESCALATE,
                                NO_ANSWER, OFFER, OVERFLOW, QUEUES, REJECT, RESTART, TRANSFER, VOICEMAIL, WITHDRAW,
                                WRAP_END, Event)
from caruso_comm.model import (TO_VOICEMAIL, Agent, AgentState, AgentStatus, Interaction,
                               InteractionState, Queue, queue_from_dict)
from caruso_comm.pool import Pool
from caruso_comm.routing import Readiness
from caruso_comm.timers import Timers

DEFAULT_HANDLE_TIME = 180.0
NO_POOLS: Mapping[str, list[Pool]] = MappingProxyType({})    # of an agent logged out


class ACD:
    """Automatic call distribution. Interactions enter with :meth:`arrive`; agents answer
    through :meth:`accept`, :meth:`reject`, :meth:`complete`, :meth:`transfer`."""

    def __init__(self, timers: Timers, sink: Callable[[Event], None]) -> None:
        self.timers = timers
        self._now = timers.clock
        self.sink = sink
        self.strategies = routing.installed()
        self._empty()

    def _empty(self) -> None:
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.interactions: dict[str, Interaction] = {}
        self._stage_pools: dict[str, list[list[Pool]]] = {}
        self._pools: list[Pool] = []
        self._agent_pools: dict[str, dict[str, list[Pool]]] = {}
        self._waiting: dict[str, dict[str, Interaction]] = {}
        self._handled: dict[str, list[float]] = {}
        self._wrap_ends: dict[tuple[str, str], float] = {}     # (agent, interaction) -> when wrap-up ends

    def forget_work(self) -> None:
        """Drop agents and interactions, keep the queue definitions (after a hot-swap handed
        the work to another server; the caller clears the timers)."""
        queues = list(self.queues.values())
        self._empty()
        for queue in queues:
            self.add_queue(queue)

    # -- configuration -------------------------------------------------------------------

    def add_queue(self, queue: Queue) -> None:
        """Define a queue. Queues named by its overflow and escalation must exist already."""
        if queue.name in self.queues:
            raise Conflict(f"queue {queue.name!r} exists already")
        targets = [q for step in queue.escalation for q in step.queues]
        if queue.overflow not in (None, VOICEMAIL):
            targets.append(queue.overflow)
        for target in targets:
            if target not in self.queues:
                raise ConfigError(f"queue {queue.name!r} names queue {target!r}, which is not "
                                  "defined: define it first")
        strategy = routing.strategy_class(self.strategies, queue.strategy, queue.name)
        base = self._new_pool(queue.channel, queue.skills, strategy)
        stages = [[base]]
        for step in queue.escalation:
            extra = [self._new_pool(queue.channel, step.skills, strategy)] if step.skills is not None else []
            extra += [self._stage_pools[name][0][0] for name in step.queues]
            stages.append(stages[-1] + [pool for pool in extra if pool not in stages[-1]])
        self.queues[queue.name] = queue
        self._stage_pools[queue.name] = stages
        self._waiting[queue.name] = {}
        self._handled[queue.name] = [0, 0.0]

    def announce_queues(self) -> None:
        """Record the queues this server routes, with their service-level targets, so that
        readers of the log (the wallboard) know every queue before anything enters it."""
        self._emit(QUEUES, None, None, None, queues=[
            {"name": queue.name, "channel": queue.channel, "sl_target": queue.sl_target}
            for queue in self.queues.values()])

    def _new_pool(self, channel: str, skills: Mapping[str, int], strategy: type[routing.Strategy]) -> Pool:
        pool = Pool(channel, skills, strategy(skills))
        self._pools.append(pool)
        now = self._now()
        for agent in self.agents.values():
            if agent.status != AgentStatus.LOGGED_OUT and pool.matches(agent):
                pool.members.add(agent.id)
                self._agent_pools[agent.id].setdefault(channel, []).append(pool)
                if agent.free(channel) > 0:     # its readiness, or a first one on a channel new to pools
                    readiness = agent.readiness.get(channel)
                    if readiness is None:
                        readiness = agent.readiness[channel] = Readiness(agent, agent.idle_since)
                    pool.strategy.add(agent, now, readiness)
        return pool

    # -- agents --------------------------------------------------------------------------

    def login(self, agent_id: str, skills: Mapping[str, int] | None = None,
              capacity: Mapping[str, int] | None = None, status: str = AgentStatus.AVAILABLE,
              reason: str = "") -> Agent:
        """Log an agent in (or update a logged-in agent's skills and capacity) with ``status``
        and its ``reason``."""
        if status == AgentStatus.LOGGED_OUT or status not in AgentStatus.ALL:
            raise InvalidInput(f"cannot log in with status {status!r}: use available or break")
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = Agent(agent_id)
        self._unindex(agent)
        agent.skills = {str(k): int(v) for k, v in (skills if skills is not None else agent.skills).items()}
        agent.capacity = {str(k): int(v) for k, v in (capacity if capacity is not None else agent.capacity).items()}
        if agent.status == AgentStatus.LOGGED_OUT:
            agent.calls, agent.talk_time, agent.misses = 0, 0.0, 0
            agent.idle_since = self._now()
        self._index(agent)
        self._set_status(agent, status, reason)
        return agent

    def define_agent(self, agent_id: str, skills: Mapping[str, int], capacity: Mapping[str, int]) -> Agent:
        """An agent known with skills and capacity but logged out (e.g. read from storage at
        start); a later :meth:`login` without skills or capacity keeps these."""
        if agent_id in self.agents:
            raise Conflict(f"agent {agent_id!r} exists already")
        agent = self.agents[agent_id] = Agent(agent_id, dict(skills), {str(k): int(v) for k, v in capacity.items()})
        return agent

    def logout(self, agent_id: str) -> None:
        """Log an agent out; pending offers go back to their queues, wrap-up ends.
        Refused (Conflict) while the agent is connected to an interaction."""
        agent = self.agent(agent_id)
        if agent.connected:
            raise Conflict(f"agent {agent_id!r} is connected to {sorted(agent.connected)}: "
                           "complete or transfer first")
        for interaction_id in sorted(agent.wrapping):
            self.end_wrap_up(agent_id, interaction_id)
        self._set_status(agent, AgentStatus.LOGGED_OUT, "")
        self._unindex(agent)

    def set_status(self, agent_id: str, status: str, reason: str = "") -> None:
        """The agent's own status: ``available`` or ``break`` (with a reason)."""
        if status not in (AgentStatus.AVAILABLE, AgentStatus.BREAK):
            raise InvalidInput(f"status {status!r} is not available or break (log out with logout)")
        agent = self.agent(agent_id)
        if agent.status == AgentStatus.LOGGED_OUT:
            raise Conflict(f"agent {agent_id!r} is logged out: log in first")
        self._set_status(agent, status, reason)

    def _set_status(self, agent: Agent, status: str, reason: str) -> None:
        changed = (agent.status, agent.reason) != (status, reason)
        agent.status, agent.reason = status, reason
        if changed:
            self._emit(AGENT_STATUS, None, None, agent.id, status=status, reason=reason)
        channels = list(self._agent_pools.get(agent.id, NO_POOLS))
        if status == AgentStatus.AVAILABLE:
            agent.misses = 0
        else:
            for channel in list(agent.readiness):      # channels without a pool too
                self._unready(agent, channel)
            for interaction_id in sorted(agent.offers):
                self._withdraw(self.interactions[interaction_id], agent.id, WITHDRAW)
        for channel in channels:
            self._release(agent, channel)

    def _index(self, agent: Agent) -> None:
        by_channel: dict[str, list[Pool]] = {}
        for pool in self._pools:
            if pool.matches(agent):
                pool.members.add(agent.id)
                by_channel.setdefault(pool.channel, []).append(pool)
        self._agent_pools[agent.id] = by_channel

    def _unindex(self, agent: Agent) -> None:
        for channel in list(agent.readiness):
            self._unready(agent, channel)
        for pools in self._agent_pools.pop(agent.id, {}).values():
            for pool in pools:
                pool.members.discard(agent.id)

    def agent(self, agent_id: str) -> Agent:
        """The agent with this id (NotFound if never logged in)."""
        agent = self.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id!r}")
        return agent

    # -- interactions --------------------------------------------------------------------

    def arrive(self, queue: str, *, id: str | None = None, channel: str | None = None,
               direction: str = "inbound", customer: str | None = None, from_: str | None = None,
               to: str | None = None, priority: int = 0, created: float | None = None) -> Interaction:
        """A new interaction enters ``queue`` and is routed at once if an agent is ready;
        ``created`` (a time on the ACD's clock) defaults to now."""
        definition = self.queues.get(queue)
        if definition is None:
            raise NotFound(f"no queue {queue!r}")
        interaction_id = id or uuid.uuid4().hex
        if interaction_id in self.interactions:
            raise Conflict(f"interaction {interaction_id!r} exists already")
        channel = channel or definition.channel
        interaction = Interaction(interaction_id, queue, channel, direction, customer, from_, to, int(priority),
                                  created=self._now() if created is None else created)
        self.interactions[interaction_id] = interaction
        self._enqueue(interaction, queue, {"channel": channel, "direction": direction, "customer": customer,
                                           "priority": interaction.priority, "from": from_, "to": to})
        return interaction

    def _enqueue(self, interaction: Interaction, queue_name: str, data: dict[str, Any]) -> None:
        """``interaction`` enters ``queue_name`` (event ``enter`` with ``data``), then is routed;
        the agent who transferred it is passed over (:meth:`Interaction.enter`)."""
        queue = self.queues[queue_name]
        now = self._now()
        interaction.enter(queue_name, now)
        self.sink(Event(now, ENTER, interaction.id, queue_name, None, data))
        if queue.max_length and len(self._waiting[queue_name]) >= queue.max_length:
            self._overflow(interaction, "max_length")
            return
        self._requeue(interaction)

    def _requeue(self, interaction: Interaction) -> None:
        """Route ``interaction`` in its queue at its stage; if no agent is ready, it waits."""
        interaction.state = InteractionState.WAITING
        interaction.token += 1
        self._route(interaction, self._stage_pools[interaction.queue][interaction.stage])
        if interaction.state == InteractionState.WAITING:
            self._park(interaction)

    def _park(self, interaction: Interaction) -> None:
        """A waiting interaction waits: listed in its queue and pools, its timers set."""
        queue = self.queues[interaction.queue]
        self._waiting[queue.name][interaction.id] = interaction
        for pool in self._stage_pools[queue.name][interaction.stage]:
            pool.wait(interaction, queue.priority)
        now = self._now()
        if queue.max_wait:
            self.timers.at(max(now, interaction.entered + queue.max_wait), self._max_wait,
                           interaction, interaction.token)
        for index in range(interaction.stage, len(queue.escalation)):
            self.timers.at(max(now, interaction.entered + queue.escalation[index].after),
                           self._escalate, interaction, interaction.token, index + 1)

    def _route(self, interaction: Interaction, pools: list[Pool]) -> None:
        now = self._now()
        for pool in pools:
            strategy = pool.strategy
            if strategy.ring_all:
                agents = [a for a in strategy.ready() if a.id not in interaction.declined]
                if agents:
                    self._offer(interaction, agents, strategy)
                    return
            else:
                agent = strategy.select(now, interaction.declined)
                if agent is not None:
                    self._offer(interaction, [agent], strategy)
                    return

    def _escalate(self, interaction: Interaction, token: int, stage: int) -> None:
        if interaction.token != token or interaction.state != InteractionState.WAITING:
            return
        queue = self.queues[interaction.queue]
        previous = self._stage_pools[queue.name][interaction.stage]
        interaction.stage = stage
        added = [pool for pool in self._stage_pools[queue.name][stage] if pool not in previous]
        self._emit(ESCALATE, interaction, queue.name, None, stage=stage)
        for pool in added:
            pool.wait(interaction, queue.priority)
        self._route(interaction, added)

    def _max_wait(self, interaction: Interaction, token: int) -> None:
        if interaction.token == token and interaction.state == InteractionState.WAITING:
            self._overflow(interaction, "max_wait")

    def _overflow(self, interaction: Interaction, reason: str) -> None:
        queue = self.queues[interaction.queue]
        self._waiting[queue.name].pop(interaction.id, None)
        interaction.token += 1
        self._emit(OVERFLOW, interaction, queue.name, None, reason=reason, to=queue.overflow)
        if queue.overflow == TO_VOICEMAIL:
            self._end(interaction, InteractionState.VOICEMAIL, VOICEMAIL)
        elif queue.overflow:
            self._enqueue(interaction, queue.overflow, {"overflow_from": queue.name})
        else:
            self._end(interaction, InteractionState.ABANDONED, ABANDON, reason=reason,
                      wait=self._now() - interaction.entered)

    def _offer(self, interaction: Interaction, agents: list[Agent],
               strategy: routing.Strategy | None) -> None:
        """Offer to ``agents``; ``strategy`` (the one that chose them, if any) is told."""
        queue = self.queues[interaction.queue]
        self._waiting[queue.name].pop(interaction.id, None)
        interaction.state = InteractionState.OFFERED
        interaction.token += 1
        channel, now = interaction.channel, self._now()
        for agent in agents:
            interaction.offers.add(agent.id)
            agent.offers.add(interaction.id)
            agent.load[channel] = agent.load.get(channel, 0) + 1
            self.sink(Event(now, OFFER, interaction.id, queue.name, agent.id))
            if strategy is not None:
                strategy.routed(agent)
            self._update_state(agent)
            self._sync_ready(agent, channel)
        self.timers.at(now + queue.offer_timeout, self._offer_timeout, interaction, interaction.token)

    def _offer_timeout(self, interaction: Interaction, token: int) -> None:
        if interaction.token != token or interaction.state != InteractionState.OFFERED:
            return
        queue = self.queues[interaction.queue]
        for agent_id in sorted(interaction.offers):
            agent = self.agents[agent_id]
            agent.misses += 1
            interaction.decline(agent_id)
            self._withdraw(interaction, agent_id, NO_ANSWER, misses=agent.misses)
            if queue.max_no_answer and agent.misses >= queue.max_no_answer \
                    and agent.status == AgentStatus.AVAILABLE:
                self._set_status(agent, AgentStatus.BREAK, "no answer")
        self._requeue(interaction)

    def _withdraw(self, interaction: Interaction, agent_id: str, event: str, **data: Any) -> None:
        """Take back the offer of ``interaction`` to one agent; requeue it if no offer is left
        (unless the caller does, as a timeout or rejection does). A withdrawn direct transfer
        (the agent went on break) failed (:meth:`Interaction.recall`)."""
        agent = self.agents[agent_id]
        if event == WITHDRAW and agent_id == interaction.handed_to:
            interaction.recall()
        interaction.offers.discard(agent_id)
        agent.offers.discard(interaction.id)
        agent.load[interaction.channel] -= 1
        self._emit(event, interaction, interaction.queue, agent_id, **data)
        self._update_state(agent)
        if event == WITHDRAW and not interaction.offers and interaction.state == InteractionState.OFFERED:
            self._requeue(interaction)
        self._release(agent, interaction.channel)

    def accept(self, agent_id: str, interaction_id: str) -> Interaction:
        """The agent takes an interaction offered to them; other offers of it are withdrawn, and
        their wrap-up of it (a transfer of theirs that came back) ends."""
        agent, interaction = self._offered(agent_id, interaction_id)
        now = self._now()
        interaction.offers.discard(agent_id)
        agent.offers.discard(interaction_id)
        interaction.connected_to(agent_id, now)
        interaction.token += 1
        agent.connected.add(interaction_id)
        agent.misses = 0
        self._emit(CONNECT, interaction, interaction.queue, agent_id, wait=now - interaction.entered)
        self._update_state(agent)
        for other in sorted(interaction.offers):
            self._withdraw(interaction, other, WITHDRAW)
        if interaction_id in agent.wrapping:
            self._finish_wrap_up(agent, interaction_id)
        return interaction

    def reject(self, agent_id: str, interaction_id: str) -> None:
        """The agent declines an offer; the interaction is not offered to them again in this queue
        (:meth:`Interaction.decline`)."""
        agent, interaction = self._offered(agent_id, interaction_id)
        interaction.decline(agent_id)
        self._withdraw(interaction, agent_id, REJECT)
        if not interaction.offers:
            self._requeue(interaction)

    def _offered(self, agent_id: str, interaction_id: str) -> tuple[Agent, Interaction]:
        agent = self.agent(agent_id)
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction_id not in agent.offers:
            raise Conflict(f"interaction {interaction_id!r} is not offered to agent {agent_id!r} "
                           "(taken, withdrawn, timed out or ended)")
        return agent, interaction

    def complete(self, agent_id: str, interaction_id: str, disposition: str = "") -> None:
        """The agent ends a connected interaction with a disposition; wrap-up follows."""
        agent, interaction = self._connected(agent_id, interaction_id)
        talk = self._hang_up(agent, interaction)
        self._end(interaction, InteractionState.COMPLETED, COMPLETE, agent_id,
                  talk=talk, disposition=disposition)
        self._wrap_up(agent, interaction)

    def transfer(self, agent_id: str, interaction_id: str, *, queue: str | None = None,
                 agent: str | None = None) -> None:
        """Hand a connected interaction to another queue or directly to a ready agent. Its
        queue does not offer it back to this agent: it waits for another, as long as the queue's
        ``max_wait`` lets it; but if the agent it was handed to directly does not take it
        (rejects it, lets it ring out, has the offer withdrawn), it goes back into its queue,
        where this agent may take it again (:meth:`Interaction.recall`)."""
        source, interaction = self._connected(agent_id, interaction_id)
        if (queue is None) == (agent is None):
            raise InvalidInput("transfer to exactly one of a queue or an agent")
        if queue is not None and queue not in self.queues:
            raise NotFound(f"no queue {queue!r}")
        target = self.agent(agent) if agent is not None else None
        if target is not None and (target is source or target.free(interaction.channel) <= 0):
            raise Conflict(f"agent {agent!r} cannot take a {interaction.channel} interaction now")
        talk = self._hang_up(source, interaction)
        self._emit(TRANSFER, interaction, interaction.queue, agent_id, talk=talk,
                   to_queue=queue, to_agent=agent)
        self._wrap_up(source, interaction)
        interaction.transferred_by(agent_id, self._now(), agent)
        if target is not None:
            self._offer(interaction, [target], None)
        else:
            self._enqueue(interaction, queue, {"transfer_from": agent_id})

    def _connected(self, agent_id: str, interaction_id: str) -> tuple[Agent, Interaction]:
        agent = self.agent(agent_id)
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction_id not in agent.connected:
            raise Conflict(f"agent {agent_id!r} is not connected to interaction {interaction_id!r}")
        return agent, interaction

    def _hang_up(self, agent: Agent, interaction: Interaction) -> float:
        talk = self._now() - interaction.connected_at
        agent.connected.discard(interaction.id)
        agent.calls += 1
        agent.talk_time += talk
        return talk

    def _wrap_up(self, agent: Agent, interaction: Interaction) -> None:
        queue = self.queues[interaction.queue]
        now = self._now()
        agent.wrapping[interaction.id] = (interaction.channel, now)
        self._update_state(agent)
        handled = self._handled[queue.name]
        handled[0] += 1
        handled[1] += now - interaction.connected_at + queue.wrap_up
        if queue.wrap_up > 0:
            self._wrap_ends[agent.id, interaction.id] = now + queue.wrap_up
            self.timers.at(now + queue.wrap_up, self._wrap_timeout, agent, interaction.id, now)
        else:
            self._finish_wrap_up(agent, interaction.id)

    def _wrap_timeout(self, agent: Agent, interaction_id: str, started: float) -> None:
        wrapping = agent.wrapping.get(interaction_id)
        if wrapping is not None and wrapping[1] == started:
            self._finish_wrap_up(agent, interaction_id)

    def end_wrap_up(self, agent_id: str, interaction_id: str) -> None:
        """The agent ends wrap-up before its time is up (no-op if not wrapping it up)."""
        agent = self.agent(agent_id)
        if interaction_id in agent.wrapping:
            self._finish_wrap_up(agent, interaction_id)

    def wrap_up_left(self, agent_id: str) -> dict[str, float]:
        """Seconds left of each of the agent's wrap-ups before it ends by itself."""
        now = self._now()
        return {interaction_id: max(0.0, self._wrap_ends[agent_id, interaction_id] - now)
                for interaction_id in self.agent(agent_id).wrapping if (agent_id, interaction_id) in self._wrap_ends}

    def _finish_wrap_up(self, agent: Agent, interaction_id: str) -> None:
        channel, started = agent.wrapping.pop(interaction_id)
        self._wrap_ends.pop((agent.id, interaction_id), None)
        agent.load[channel] -= 1
        self._emit(WRAP_END, None, None, agent.id, of=interaction_id,
                   seconds=self._now() - started)
        self._update_state(agent)
        self._release(agent, channel)

    def abandon(self, interaction_id: str, reason: str = "caller") -> None:
        """The customer left before being connected (hung up, closed the chat); with reason
        ``restart`` nobody left: the channel lost it in a restart, and it ends ``closed``."""
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.state not in (InteractionState.WAITING,
                                                            InteractionState.OFFERED):
            raise Conflict(f"interaction {interaction_id!r} is not waiting or offered")
        self._waiting[interaction.queue].pop(interaction_id, None)
        interaction.token += 1
        state = InteractionState.CLOSED if reason == RESTART else InteractionState.ABANDONED
        interaction.state = state
        for agent_id in sorted(interaction.offers):
            self._withdraw(interaction, agent_id, WITHDRAW)
        self._end(interaction, state, ABANDON, reason=reason, wait=self._now() - interaction.entered)

    def _end(self, interaction: Interaction, state: str, event: str, agent: str | None = None,
             **data: Any) -> None:
        interaction.state, interaction.ended = state, self._now()
        self.interactions.pop(interaction.id, None)
        self._emit(event, interaction, interaction.queue, agent, **data)

    # -- agent readiness -----------------------------------------------------------------

    def _update_state(self, agent: Agent) -> None:
        state = (AgentState.BUSY if agent.connected else AgentState.OFFERED if agent.offers
                 else AgentState.WRAP_UP if agent.wrapping else AgentState.IDLE)
        if state != agent.state:
            agent.state = state
            now = self._now()
            if state == AgentState.IDLE:
                agent.idle_since = now
            self.sink(Event(now, AGENT_STATE, None, None, agent.id, {"state": state}))

    def _sync_ready(self, agent: Agent, channel: str) -> None:
        """Tell the strategies of ``agent``'s pools on ``channel`` whether it is ready, with
        its current counters (a new readiness each time)."""
        self._unready(agent, channel)
        if agent.free(channel) > 0:
            readiness = agent.readiness[channel] = Readiness(agent, agent.idle_since)
            now = self._now()
            for pool in self._agent_pools.get(agent.id, NO_POOLS).get(channel, ()):
                pool.strategy.add(agent, now, readiness)

    @staticmethod
    def _unready(agent: Agent, channel: str) -> None:
        """``agent`` leaves every pool of ``channel`` (its readiness ends)."""
        readiness = agent.readiness.pop(channel, None)
        if readiness is not None:
            readiness.live = False

    def _release(self, agent: Agent, channel: str) -> None:
        """Give ``agent`` waiting work of ``channel`` while they have room; then mark them ready."""
        pools = self._agent_pools.get(agent.id, NO_POOLS).get(channel, ())
        while agent.free(channel) > 0:
            best, chosen = None, None
            for pool in pools:
                entry = pool.first_for(agent)
                if entry is not None and (best is None or entry.rank < best.rank):
                    best, chosen = entry, pool
            if best is None:
                break
            self._offer(best.interaction, [agent], chosen.strategy)
        self._sync_ready(agent, channel)

    # -- queries -------------------------------------------------------------------------

    def position(self, interaction_id: str) -> int:
        """1-based position of a waiting interaction among those waiting in its queue."""
        interaction = self._waiting_interaction(interaction_id)
        return 1 + self.waiting(interaction.queue).index(interaction)

    def expected_wait(self, interaction_id: str) -> float:
        """Seconds until a waiting interaction is likely offered: its position times the
        queue's mean handling time, divided by the agents logged in to the queue."""
        interaction = self._waiting_interaction(interaction_id)
        count, total = self._handled[interaction.queue]
        handle_time = total / count if count else DEFAULT_HANDLE_TIME
        staffed = len(self._stage_pools[interaction.queue][0][0].members)
        return self.position(interaction_id) * handle_time / max(1, staffed)

    def _waiting_interaction(self, interaction_id: str) -> Interaction:
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.state != InteractionState.WAITING:
            raise Conflict(f"interaction {interaction_id!r} is not waiting")
        return interaction

    def waiting(self, queue: str) -> list[Interaction]:
        """The interactions waiting in ``queue``, in routing order (ties: first come first);
        NotFound for a queue not defined."""
        if queue not in self.queues:
            raise NotFound(f"no queue {queue!r}")
        return sorted(self._waiting[queue].values(), key=lambda i: (-i.priority, i.entered))

    def staffing(self, queue: str) -> dict[str, int]:
        """Agents logged in to ``queue`` (its base pool): ``logged_in``, ``ready`` (available
        with room on the queue's channel), ``occupied`` (with an interaction of any kind)."""
        pool = self._stage_pools[queue][0][0]
        agents = [self.agents[agent_id] for agent_id in pool.members]
        return {"logged_in": len(agents),
                "ready": sum(agent.free(pool.channel) > 0 for agent in agents),
                "occupied": sum(agent.state != AgentState.IDLE for agent in agents)}

    # -- state transfer ------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Queues, agents and live interactions as plain data, for :meth:`import_state`."""
        return {
            "queues": [attrs.asdict(queue) for queue in self.queues.values()],
            "agents": [{"id": a.id, "skills": a.skills, "capacity": a.capacity, "status": a.status,
                        "reason": a.reason, "state": a.state, "idle_since": a.idle_since, "calls": a.calls,
                        "talk_time": a.talk_time, "misses": a.misses,
                        "wrapping": {i: list(w) for i, w in a.wrapping.items()}}
                       for a in self.agents.values()],
            "interactions": [dict(i.snapshot(), stage=i.stage, declined=sorted(i.declined), passed_over=i.passed_over,
                                  handed_to=i.handed_to)
                             for i in self.interactions.values()],
            "handled": {name: list(handled) for name, handled in self._handled.items()},
        }

    def import_state(self, state: dict[str, Any]) -> None:
        """Take over an exported ACD. Queues defined here already keep their definitions;
        the others are added. Connected interactions stay with their agents; pending offers
        are withdrawn (event ``withdraw``, reason ``restart``) and routed again; wrap-ups
        end (``wrap_end``). Logged-out agents known here (``define_agent``) are replaced
        by the imported ones of the same id."""
        if self.interactions or any(a.status != AgentStatus.LOGGED_OUT for a in self.agents.values()):
            raise Conflict("state can only be imported into an ACD without interactions and logged-in agents")
        for definition in state["queues"]:
            if definition["name"] not in self.queues:
                self.add_queue(queue_from_dict(definition))
        self._handled.update({name: list(h) for name, h in state["handled"].items()})
        for data in state["agents"]:
            agent = self.agents[data["id"]] = Agent(
                data["id"], data["skills"], dict(data["capacity"]), data["status"], data["reason"],
                idle_since=data["idle_since"], calls=data["calls"], talk_time=data["talk_time"],
                misses=data["misses"])
            agent.state = data["state"]
            if agent.status != AgentStatus.LOGGED_OUT:
                self._index(agent)
            for interaction_id, (channel, started) in data["wrapping"].items():
                self._emit(WRAP_END, None, None, agent.id, of=interaction_id,
                           seconds=self._now() - started)
        restored = [self._restore(data) for data in state["interactions"]]
        for agent in self.agents.values():
            self._update_state(agent)
        for interaction in restored:
            if interaction.state == InteractionState.WAITING:
                self._park(interaction)
        for name in self.queues:
            for interaction in self.waiting(name):
                self._route(interaction, self._stage_pools[name][interaction.stage])
        for agent in self.agents.values():
            for channel in self._agent_pools.get(agent.id, NO_POOLS):
                self._release(agent, channel)

    def take_back(self, left: Iterable[tuple[Interaction, Iterable[str]]]) -> None:
        """Take back interactions an earlier run left open, as its event log shows them, each
        with the agents its offers still ring: those offers are withdrawn (``withdraw``, reason
        ``restart``); a connected interaction stays with its agent (known here, logged in or
        not: it takes the agent's capacity); any other waits in its queue again with its time of
        arrival and escalation stage, and is routed. Their queues must exist."""
        waiting = []
        for interaction, offers in left:
            if interaction.id in self.interactions:
                raise Conflict(f"interaction {interaction.id!r} exists already")
            self.interactions[interaction.id] = interaction
            interaction.offers = set()
            for agent_id in sorted(offers):
                self._emit(WITHDRAW, interaction, interaction.queue, agent_id, reason=RESTART)
            if interaction.state == InteractionState.CONNECTED:
                agent = self.agents[interaction.agent]
                agent.connected.add(interaction.id)
                agent.load[interaction.channel] = agent.load.get(interaction.channel, 0) + 1
                self._update_state(agent)
            else:
                interaction.state = InteractionState.WAITING
                interaction.recall()
                self._park(interaction)
                waiting.append(interaction)
        for interaction in waiting:
            if interaction.state == InteractionState.WAITING:
                self._route(interaction, self._stage_pools[interaction.queue][interaction.stage])

    def _restore(self, data: dict[str, Any]) -> Interaction:
        interaction = self.interactions[data["id"]] = Interaction(
            data["id"], data["queue"], data["channel"], data["direction"], data["customer"],
            data["from"], data["to"], data["priority"], data["state"], data["created"],
            data["entered"], data["connected_at"], agent=data["agent"], stage=data["stage"],
            declined=set(data["declined"]), passed_over=data.get("passed_over"),
            handed_to=data.get("handed_to"), returns_to=data.get("returns_to"))
        if interaction.state == InteractionState.CONNECTED:
            agent = self.agents[interaction.agent]
            agent.connected.add(interaction.id)
            agent.load[interaction.channel] = agent.load.get(interaction.channel, 0) + 1
        else:
            for agent_id in data["offers"]:
                self._emit(WITHDRAW, interaction, interaction.queue, agent_id, reason=RESTART)
            interaction.state = InteractionState.WAITING
            interaction.recall()
        return interaction

    # -- events --------------------------------------------------------------------------

    def record(self, event: str, *, interaction: str | None = None, queue: str | None = None,
               agent: str | None = None, **data: Any) -> None:
        """Append an event of a channel or campaign to the ACD's event stream, in order."""
        self.sink(Event(self._now(), event, interaction, queue, agent, data))

    def _emit(self, event: str, interaction: Interaction | None, queue: str | None,
              agent: str | None, **data: Any) -> None:
        self.sink(Event(self._now(), event, interaction.id if interaction else None,
                        queue, agent, data))
