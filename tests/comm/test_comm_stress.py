"""Randomized stress: thousands of interactions, agents coming and going, transfers,
abandons and hot-swaps of the ACD's state; the event log alone must show nothing lost
and nothing routed twice."""
from __future__ import annotations

import random
from collections import defaultdict

import pytest

from caruso_core.errors import Conflict
from caruso_comm.model import Escalation, Queue

TERMINAL = {"complete", "abandon", "voicemail"}
OFFER_ENDS = {"connect", "withdraw", "no_answer", "reject"}


def _setup(acd):
    acd.add_queue(Queue("general", strategy="longest_idle", offer_timeout=15, wrap_up=5,
                        max_wait=400, overflow="voicemail"))
    acd.add_queue(Queue("sales", strategy="round_robin", skills={"sales": 1}, max_length=15,
                        overflow="general", offer_timeout=10))
    acd.add_queue(Queue("vip", strategy="ring_all", skills={"vip": 1}, priority=5))
    acd.add_queue(Queue("tech", strategy="skills_based", skills={"tech": 4}, max_no_answer=2,
                        escalation=[Escalation(after=30, skills={"tech": 2}),
                                    Escalation(after=90, queues=["general"])]))
    acd.add_queue(Queue("chat", strategy="fewest_calls", channel="chat", wrap_up=2))


def _agent_profile(rng, name):
    skills = {skill: rng.randint(1, 5) for skill in ("sales", "vip", "tech") if rng.random() < 0.5}
    capacity = {"voice": 1, "chat": rng.choice([0, 1, 2, 3])}
    return skills, capacity


def _act(rng, desk, arrivals):
    acd = desk.acd
    agents = list(acd.agents.values())
    interactions = list(acd.interactions.values())
    roll = rng.random()
    if roll < 0.25 and arrivals:
        arrivals.pop()
        acd.arrive(rng.choice(["general", "sales", "vip", "tech", "chat"]), priority=rng.randint(0, 2))
    elif roll < 0.32:
        agent = rng.choice(agents)
        if agent.status == "logged_out":
            acd.login(agent.id, *_agent_profile(rng, agent.id))
        elif rng.random() < 0.5:
            try:
                acd.logout(agent.id)
            except Conflict:
                assert agent.connected
        else:
            acd.set_status(agent.id, rng.choice(["available", "break"]), "random")
    elif roll < 0.62:
        offered = [(a, i) for a in agents for i in sorted(a.offers)]
        if offered:
            agent, interaction = rng.choice(offered)
            (acd.accept if rng.random() < 0.85 else acd.reject)(agent.id, interaction)
    elif roll < 0.85:
        connected = [(a, i) for a in agents for i in sorted(a.connected)]
        if connected:
            agent, interaction = rng.choice(connected)
            pick = rng.random()
            if pick < 0.75:
                acd.complete(agent.id, interaction, "done")
            elif pick < 0.9:
                acd.transfer(agent.id, interaction, queue=rng.choice(["general", "tech", "sales"]))
            else:
                target = rng.choice(agents)
                try:
                    acd.transfer(agent.id, interaction, agent=target.id)
                except Conflict:
                    assert target is agent or target.free(acd.interactions[interaction].channel) <= 0
    elif roll < 0.855:
        desk.swap()
    elif roll < 0.935:
        waiting = [i for i in interactions if i.state in ("waiting", "offered")]
        if waiting:
            acd.abandon(rng.choice(waiting).id)
    else:
        wrapping = [(a, i) for a in agents for i in sorted(a.wrapping)]
        if wrapping:
            agent, interaction = rng.choice(wrapping)
            acd.end_wrap_up(agent.id, interaction)


def _drain(desk):
    acd = desk.acd
    for agent in list(acd.agents.values()):
        if agent.status == "logged_out":
            acd.login(agent.id, {"sales": 5, "vip": 5, "tech": 5}, {"voice": 1, "chat": 1})
        else:
            acd.set_status(agent.id, "available")
    for _ in range(100_000):
        if not acd.interactions:
            break
        for agent in list(acd.agents.values()):
            for interaction in sorted(agent.offers):
                acd.accept(agent.id, interaction)
            for interaction in sorted(agent.connected):
                acd.complete(agent.id, interaction, "drain")
        desk.advance(10)
    desk.advance(1000)
    for agent in list(acd.agents.values()):
        acd.logout(agent.id)


def _check(events):
    by_interaction = defaultdict(list)
    agent_status = defaultdict(lambda: "logged_out")
    for event in events:
        if event.event == "agent_status":
            agent_status[event.agent] = event.data["status"]
        if event.event == "offer":
            assert agent_status[event.agent] == "available", event
        if event.interaction is not None:
            by_interaction[event.interaction].append(event)
    assert len(by_interaction) >= 1000
    for interaction, history in by_interaction.items():
        assert history[0].event == "enter", history[0]
        ends = [e for e in history if e.event in TERMINAL]
        assert len(ends) == 1 and history[-1] is ends[0], (interaction, [e.event for e in history])
        outstanding, connected = set(), None
        for event in history:
            if event.event == "offer":
                assert event.agent not in outstanding and connected is None, event
                outstanding.add(event.agent)
            elif event.event in OFFER_ENDS:
                assert event.agent in outstanding, event
                outstanding.discard(event.agent)
                if event.event == "connect":
                    assert connected is None, event
                    connected = event.agent
            elif event.event in ("transfer", "complete"):
                assert event.agent == connected, event
                connected = None
            elif event.event in ("abandon", "voicemail", "overflow", "enter"):
                assert connected is None and not outstanding, event
        assert not outstanding and connected is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_interaction_is_lost_or_routed_twice(desk, seed):
    rng = random.Random(seed)
    _setup(desk.acd)
    for n in range(30):
        desk.acd.login(f"agent{n}", *_agent_profile(rng, f"agent{n}"))
    arrivals = list(range(4000))
    while arrivals:
        _act(rng, desk, arrivals)
        desk.advance(rng.expovariate(1 / 3.0))
    _drain(desk)
    assert not desk.acd.interactions
    assert all(not a.load or set(a.load.values()) == {0} for a in desk.acd.agents.values())
    _check(desk.events)
