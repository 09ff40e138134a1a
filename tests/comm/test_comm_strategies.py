"""Each routing strategy's order, through the ACD and the installed plugins."""
from __future__ import annotations

from caruso_comm.model import Escalation, Queue


def _login(desk, *names, **kwargs):
    for name in names:
        desk.acd.login(name, **kwargs)
        desk.advance(1)


def _call(desk, queue="q", **kwargs):
    interaction = desk.acd.arrive(queue, **kwargs)
    return interaction.id, desk.offered_to(interaction.id)


def _serve(desk, agent, interaction, talk=10.0):
    desk.acd.accept(agent, interaction)
    desk.advance(talk)
    desk.acd.complete(agent, interaction, "done")


def _accepted_order(desk, calls):
    """Agents offered ``calls`` new interactions in turn, each accepting and staying busy."""
    order = []
    for _ in range(calls):
        interaction, offered = _call(desk)
        order += offered
        if offered:
            desk.acd.accept(offered[0], interaction)
    return order


def test_longest_idle_offers_to_the_agent_idle_longest(desk):
    desk.acd.add_queue(Queue("q", strategy="longest_idle"))
    _login(desk, "a", "b", "c")
    first, offered = _call(desk)
    assert offered == ["a"]
    _serve(desk, "a", first)
    assert _accepted_order(desk, 3) == ["b", "c", "a"]


def test_round_robin_continues_after_the_last_agent_offered(desk):
    desk.acd.add_queue(Queue("q", strategy="round_robin"))
    _login(desk, "a", "b", "c")
    order = []
    for _ in range(5):
        interaction, offered = _call(desk)
        order += offered
        _serve(desk, offered[0], interaction)
    assert order == ["a", "b", "c", "a", "b"]


def test_round_robin_skips_busy_agents_and_keeps_its_place(desk):
    desk.acd.add_queue(Queue("q", strategy="round_robin"))
    _login(desk, "a", "b", "c")
    first, _ = _call(desk)
    desk.acd.accept("a", first)
    second, offered = _call(desk)
    assert offered == ["b"]
    _serve(desk, "b", second)
    desk.acd.complete("a", first)
    _, offered = _call(desk)
    assert offered == ["c"]


def test_fewest_calls_prefers_the_agent_with_fewest_handled(desk):
    desk.acd.add_queue(Queue("q", strategy="fewest_calls"))
    for agent, calls in (("a", 2), ("c", 1)):
        _login(desk, agent)
        for _ in range(calls):
            interaction, offered = _call(desk)
            assert offered == [agent]
            _serve(desk, agent, interaction)
    _login(desk, "b")
    assert _accepted_order(desk, 3) == ["b", "c", "a"]


def test_least_talk_time_prefers_the_agent_with_least_connected_time(desk):
    desk.acd.add_queue(Queue("q", strategy="least_talk_time"))
    _login(desk, "a", "b", "c")
    for agent, talk in (("a", 300.0), ("b", 100.0), ("c", 200.0)):
        interaction = desk.acd.arrive("q").id
        assert desk.offered_to(interaction) == [agent]
        _serve(desk, agent, interaction, talk)
    assert _accepted_order(desk, 3) == ["b", "c", "a"]


def test_ring_all_offers_to_everyone_and_the_first_to_accept_wins(desk):
    desk.acd.add_queue(Queue("q", strategy="ring_all"))
    _login(desk, "a", "b", "c")
    interaction, offered = _call(desk)
    assert sorted(offered) == ["a", "b", "c"]
    desk.acd.accept("b", interaction)
    assert sorted(e.agent for e in desk.named("withdraw", interaction=interaction)) == ["a", "c"]
    assert {a: desk.acd.agents[a].state for a in "abc"} == {"a": "idle", "b": "busy", "c": "idle"}


def test_skills_based_prefers_the_highest_level(desk):
    desk.acd.add_queue(Queue("q", strategy="skills_based", skills={"english": 2}))
    for name, level in (("low", 2), ("top", 5), ("mid", 4), ("none", 1)):
        desk.acd.login(name, skills={"english": level})
    assert _accepted_order(desk, 4) == ["top", "mid", "low"]


def test_skills_based_serves_higher_priority_first(desk):
    desk.acd.add_queue(Queue("q", strategy="skills_based", skills={"english": 1}))
    desk.acd.login("a", skills={"english": 3})
    busy, _ = _call(desk)
    desk.acd.accept("a", busy)
    normal, _ = _call(desk, priority=0)
    desk.advance(5)
    urgent, _ = _call(desk, priority=5)
    assert desk.acd.position(urgent) == 1 and desk.acd.position(normal) == 2
    desk.acd.complete("a", busy)
    assert desk.offered_to(urgent) == ["a"] and desk.offered_to(normal) == []


def test_skills_based_relaxes_the_required_level_after_the_configured_wait(desk):
    desk.acd.add_queue(Queue("q", strategy="skills_based", skills={"french": 5},
                             escalation=[Escalation(after=30, skills={"french": 3})]))
    desk.acd.login("junior", skills={"french": 3})
    interaction, offered = _call(desk)
    assert offered == []
    desk.advance(29.9)
    assert desk.offered_to(interaction) == []
    desk.advance(0.2)
    assert desk.offered_to(interaction) == ["junior"]
    escalation = desk.named("escalate", interaction=interaction)
    assert len(escalation) == 1 and escalation[0].time == 30


def test_escalation_widens_to_another_queues_agents(desk):
    desk.acd.add_queue(Queue("sales", strategy="skills_based", skills={"sales": 1}))
    desk.acd.add_queue(Queue("support", strategy="skills_based", skills={"support": 1},
                             escalation=[Escalation(after=60, queues=["sales"])]))
    desk.acd.login("seller", skills={"sales": 1})
    interaction, offered = _call(desk, queue="support")
    assert offered == []
    desk.advance(59)
    assert desk.offered_to(interaction) == []
    desk.advance(2)
    assert desk.offered_to(interaction) == ["seller"]


def test_an_agent_freed_after_escalation_takes_the_escalated_interaction(desk):
    desk.acd.add_queue(Queue("q", strategy="skills_based", skills={"french": 5},
                             escalation=[Escalation(after=30, skills={"french": 3})]))
    desk.acd.login("junior", skills={"french": 3})
    desk.acd.set_status("junior", "break", "lunch")
    interaction, _ = _call(desk)
    desk.advance(40)
    assert desk.offered_to(interaction) == []
    desk.acd.set_status("junior", "available")
    assert desk.offered_to(interaction) == ["junior"]


def _leave(agent):
    """The agent is no longer ready on voice, as the ACD does it: its readiness ends."""
    readiness = agent.readiness.pop("voice", None)
    if readiness is not None:
        readiness.live = False


def _ready(agent):
    """The agent is ready on voice with a new readiness (the ACD gives every pool the same one)."""
    from caruso_comm.routing import Readiness

    readiness = agent.readiness["voice"] = Readiness(agent, agent.idle_since)
    return readiness


def test_ranked_idle_order_equals_a_heap_keyed_by_rank_then_idle_time():
    """Random adds (idle times out of order too), re-adds and agents leaving (their readiness
    ends, as the ACD does it): the bucketed strategy keeps exactly the order of a
    heap keyed (rank, idle_since, order added)."""
    import random

    from caruso_comm.model import Agent
    from caruso_comm.routing import HeapStrategy, RankedIdleStrategy

    class ByHeap(HeapStrategy):
        def key(self, agent, now):
            return agent.calls, agent.idle_since

    class ByBuckets(RankedIdleStrategy):
        def rank(self, agent):
            return agent.calls

    rng = random.Random(5)
    heap, buckets = ByHeap({}), ByBuckets({})
    agents = [Agent(f"a{n}") for n in range(40)]
    for step in range(3000):
        agent = rng.choice(agents)
        _leave(agent)
        if rng.random() >= 0.35:
            agent.calls = rng.randrange(4)
            # mostly the latest time, sometimes an earlier one (an agent ready on another channel)
            agent.idle_since = float(step if rng.random() < 0.8 else rng.randrange(step + 1))
            readiness = _ready(agent)
            heap.add(agent, step, readiness)
            buckets.add(agent, step, readiness)
        assert [a.id for a in buckets.ready()] == [a.id for a in heap.ready()]
        assert sorted(a.id for a in heap.ready()) == sorted(a.id for a in agents if a.readiness)
        excluded = {a.id for a in rng.sample(agents, 5)}
        assert buckets.select(step, excluded) is heap.select(step, excluded)


def test_round_robin_ring_under_random_readiness_equals_a_plain_list():
    """Agents becoming ready, leaving (readiness over) and being offered at random: the ring
    is the order of first becoming ready, read from the agent after the last one offered."""
    import random

    from caruso_comm.model import Agent
    from caruso_comm.strategies.round_robin import RoundRobinMemory

    rng = random.Random(7)
    ring, order, last = RoundRobinMemory({}), [], None
    agents = [Agent(f"a{n}") for n in range(30)]
    for step in range(3000):
        agent = rng.choice(agents)
        _leave(agent)
        if rng.random() >= 0.4:
            if agent not in order:
                order.append(agent)
            ring.add(agent, step, _ready(agent))
        start = order.index(last) + 1 if last is not None else 0
        expected = [a for a in order[start:] + order[:start] if a.readiness]
        assert ring.ready() == expected
        excluded = {a.id for a in rng.sample(agents, 3)}
        chosen = ring.select(step, excluded)
        assert chosen is next((a for a in expected if a.id not in excluded), None)
        if chosen is not None and rng.random() < 0.5:
            ring.routed(chosen)
            last = chosen
