"""ACD behaviour: offers and timeouts, no-answer, wrap-up, transfers, overflow, capacity."""
from __future__ import annotations

import pytest

from caruso_core.errors import ConfigError, Conflict
from caruso_comm.eventlog import EventLog
from caruso_comm.events import RESTART, Event
from caruso_comm.model import Queue
from caruso_comm.restart import left_over


def test_an_unanswered_offer_goes_to_the_next_agent_and_misses_put_an_agent_on_break(desk):
    desk.acd.add_queue(Queue("q", offer_timeout=10, max_no_answer=2))
    desk.acd.login("sleepy")
    desk.advance(1)
    desk.acd.login("awake")
    first = desk.acd.arrive("q").id
    assert desk.offered_to(first) == ["sleepy"]
    desk.advance(10)
    assert desk.offered_to(first) == ["sleepy", "awake"]
    assert desk.named("no_answer", interaction=first)[0].data == {"misses": 1}
    desk.acd.accept("awake", first)
    second = desk.acd.arrive("q").id
    assert desk.offered_to(second) == ["sleepy"]
    desk.advance(10)
    assert desk.acd.agents["sleepy"].status == "break"
    assert desk.acd.agents["sleepy"].reason == "no answer"
    assert desk.acd.interactions[second].state == "waiting"
    desk.acd.complete("awake", first)
    assert desk.offered_to(second) == ["sleepy", "awake"]


def test_a_rejected_interaction_is_not_offered_to_the_same_agent_again(desk):
    desk.acd.add_queue(Queue("q"))
    desk.acd.login("a")
    interaction = desk.acd.arrive("q").id
    desk.acd.reject("a", interaction)
    assert desk.acd.interactions[interaction].state == "waiting"
    assert desk.acd.agents["a"].state == "idle"
    desk.acd.login("b")
    assert desk.offered_to(interaction) == ["a", "b"]


def test_wrap_up_holds_the_agent_for_the_queues_wrap_up_time(desk):
    desk.acd.add_queue(Queue("q", wrap_up=30))
    desk.acd.login("a")
    first = desk.acd.arrive("q").id
    desk.acd.accept("a", first)
    desk.advance(60)
    desk.acd.complete("a", first, "sale")
    assert desk.named("complete")[0].data == {"talk": 60, "disposition": "sale"}
    assert desk.acd.agents["a"].state == "wrap_up"
    second = desk.acd.arrive("q").id
    desk.advance(29)
    assert desk.offered_to(second) == []
    desk.advance(1)
    assert desk.offered_to(second) == ["a"]
    assert desk.named("wrap_end")[0].data == {"of": first, "seconds": 30}


def test_an_agent_may_end_wrap_up_early(desk):
    desk.acd.add_queue(Queue("q", wrap_up=30))
    desk.acd.login("a")
    first = desk.acd.arrive("q").id
    desk.acd.accept("a", first)
    desk.acd.complete("a", first)
    second = desk.acd.arrive("q").id
    desk.advance(5)
    desk.acd.end_wrap_up("a", first)
    assert desk.offered_to(second) == ["a"]
    desk.advance(30)
    assert len(desk.named("wrap_end")) == 1


def test_transfer_to_a_queue_and_to_an_agent(desk):
    desk.acd.add_queue(Queue("sales", skills={"sales": 1}))
    desk.acd.add_queue(Queue("billing", skills={"billing": 1}))
    desk.acd.login("seller", skills={"sales": 1})
    desk.acd.login("biller", skills={"billing": 1})
    desk.acd.login("boss", skills={})
    interaction = desk.acd.arrive("sales").id
    desk.acd.accept("seller", interaction)
    desk.advance(20)
    desk.acd.transfer("seller", interaction, queue="billing")
    assert desk.offered_to(interaction) == ["seller", "biller"]
    assert desk.named("enter", interaction=interaction)[-1].data == {"transfer_from": "seller"}
    desk.acd.accept("biller", interaction)
    desk.acd.transfer("biller", interaction, agent="boss")
    assert desk.offered_to(interaction)[-1] == "boss"
    desk.acd.accept("boss", interaction)
    desk.acd.complete("boss", interaction, "solved")
    assert [e.event for e in desk.events if e.interaction == interaction] == [
        "enter", "offer", "connect", "transfer", "enter", "offer", "connect", "transfer",
        "offer", "connect", "complete"]
    with pytest.raises(Conflict):
        desk.acd.transfer("boss", interaction, queue="sales")


def test_a_transferred_call_is_not_offered_back_to_the_agent_who_transferred_it(desk):
    desk.acd.add_queue(Queue("help", offer_timeout=10))
    desk.acd.login("ann")
    desk.acd.login("bob")
    first, second = desk.acd.arrive("help").id, desk.acd.arrive("help").id
    desk.acd.accept("ann", first)
    desk.acd.accept("bob", second)
    desk.acd.transfer("ann", first, queue="help")
    assert desk.acd.agents["ann"].state == "idle"
    assert desk.acd.interactions[first].state == "waiting"
    desk.acd.complete("bob", second)
    assert desk.offered_to(first) == ["ann", "bob"]
    desk.acd.accept("bob", first)
    desk.acd.transfer("bob", first, queue="help")
    assert desk.offered_to(first) == ["ann", "bob", "ann"]          # another agent may hand it back
    desk.acd.accept("ann", first)
    desk.acd.transfer("ann", first, queue="help")
    assert desk.offered_to(first) == ["ann", "bob", "ann", "bob"]
    desk.advance(10)                                                  # bob lets it ring out
    assert desk.offered_to(first) == ["ann", "bob", "ann", "bob"]
    assert desk.acd.interactions[first].state == "waiting"


@pytest.mark.parametrize("fails", ["reject", "ring out", "break", "hot-swap"])
def test_a_call_handed_to_an_agent_who_does_not_take_it_goes_back_to_the_one_who_handed_it_on(desk, fails):
    desk.acd.add_queue(Queue("help", offer_timeout=10, wrap_up=30))
    desk.acd.login("ann")
    desk.acd.login("bob")
    call = desk.acd.arrive("help").id
    desk.acd.accept("ann", call)
    desk.acd.transfer("ann", call, agent="bob")
    assert desk.offered_to(call) == ["ann", "bob"]
    if fails == "hot-swap":
        desk.swap()                                                  # which ends offers and wrap-ups
    else:
        {"reject": lambda: desk.acd.reject("bob", call), "ring out": lambda: desk.advance(10),
         "break": lambda: desk.acd.set_status("bob", "break")}[fails]()
        assert desk.acd.interactions[call].state == "waiting"        # ann is wrapping up the transfer
        assert desk.acd.interactions[call].snapshot()["returns_to"] == "ann"   # her desk says it is back
        desk.acd.end_wrap_up("ann", call)
    assert desk.offered_to(call) == ["ann", "bob", "ann"]
    desk.acd.accept("ann", call)
    assert desk.acd.interactions[call].snapshot()["returns_to"] is None
    desk.acd.set_status("bob", "available")
    desk.acd.transfer("ann", call, queue="help")                     # a queue transfer still passes her over
    desk.advance(10)
    assert desk.offered_to(call)[3:] == ["bob"] and desk.acd.interactions[call].state == "waiting"


def test_a_hot_swap_keeps_whom_a_declined_transfer_goes_back_to(desk):
    desk.acd.add_queue(Queue("help", wrap_up=30))
    desk.acd.login("ann")
    desk.acd.login("bob")
    call = desk.acd.arrive("help").id
    desk.acd.accept("ann", call)
    desk.acd.transfer("ann", call, agent="bob")
    desk.acd.reject("bob", call)
    desk.swap()
    assert desk.acd.interactions[call].snapshot()["returns_to"] == "ann"
    assert desk.offered_to(call) == ["ann", "bob", "ann"]               # her wrap-up ended with the swap


def test_a_direct_transfer_starts_the_wait_again_so_a_decline_does_not_overflow_it(desk):
    desk.acd.add_queue(Queue("help", offer_timeout=10, max_wait=60, overflow="voicemail"))
    desk.acd.login("ann")
    call = desk.acd.arrive("help").id
    desk.acd.set_status("ann", "break")                              # withdrawn: the caller waits
    desk.advance(50)
    desk.acd.set_status("ann", "available")
    desk.acd.accept("ann", call)
    desk.advance(30)
    desk.acd.login("bob")
    desk.acd.transfer("ann", call, agent="bob")
    desk.advance(10)                                                  # bob lets it ring out
    assert desk.acd.interactions[call].state == "offered" and desk.offered_to(call)[-1] == "ann"
    desk.acd.accept("ann", call)
    assert desk.named("connect", interaction=call)[-1].data == {"wait": 10}


def test_taking_back_a_chat_one_is_wrapping_up_ends_that_wrap_up(desk):
    desk.acd.add_queue(Queue("chat", channel="webchat", wrap_up=60))
    desk.acd.login("ann", capacity={"webchat": 2})
    desk.acd.login("bob", capacity={"webchat": 2})
    chat = desk.acd.arrive("chat").id
    desk.acd.accept("ann", chat)
    desk.acd.transfer("ann", chat, agent="bob")
    desk.acd.reject("bob", chat)
    assert desk.offered_to(chat) == ["ann", "bob", "ann"]              # she has room for it while wrapping up
    desk.acd.accept("ann", chat)
    assert desk.named("wrap_end")[-1].data["of"] == chat and desk.acd.agents["ann"].load["webchat"] == 1
    desk.acd.complete("ann", chat)
    desk.advance(60)
    assert desk.acd.agents["ann"].load["webchat"] == 0 and desk.acd.agents["ann"].state == "idle"


def test_a_transferred_call_that_overflows_is_not_offered_back_to_the_agent_who_transferred_it(desk):
    desk.acd.add_queue(Queue("backup"))
    desk.acd.add_queue(Queue("experts", skills={"expert": 1}, max_length=1, overflow="backup"))
    desk.acd.add_queue(Queue("help"))
    desk.acd.arrive("experts")                                       # waits for an expert: experts is full
    desk.acd.login("ann")
    call = desk.acd.arrive("help").id
    desk.acd.accept("ann", call)
    desk.acd.transfer("ann", call, queue="experts")
    assert [(e.event, e.queue) for e in desk.events if e.interaction == call][-3:] == [
        ("enter", "experts"), ("overflow", "experts"), ("enter", "backup")]
    assert desk.offered_to(call) == ["ann"] and desk.acd.interactions[call].state == "waiting"
    desk.swap()                                                      # nor after a hot-swap
    desk.acd.login("bob")
    assert desk.offered_to(call) == ["ann", "bob"]


def test_a_cold_start_reads_the_agent_who_transferred_a_waiting_call_as_passed_over(desk, tmp_path):
    log = EventLog(f"sqlite:///{tmp_path / 'comm.db'}")
    log.append(Event(desk.clock.now, RESTART, data={"closed": 0, "logged_out": 0}))
    desk.acd.sink = log.append
    desk.acd.add_queue(Queue("help", offer_timeout=10))
    for agent in ("ann", "bob", "cid"):
        desk.acd.login(agent)
    first, second, third = (desk.acd.arrive("help").id for _ in range(3))
    for agent, interaction in (("ann", first), ("bob", second), ("cid", third)):
        desk.acd.accept(agent, interaction)
    desk.acd.transfer("ann", first, queue="help")
    desk.acd.transfer("cid", third, agent="ann")
    desk.advance(10)                                           # cid, then ann let them ring out
    log.flush()
    try:
        left = {found.interaction.id: found for found in left_over(log, "comm", (), (), ()).open}
    finally:
        log.close()
    assert (left[first].interaction.state, left[first].interaction.declined) == ("waiting", {"ann", "cid"})
    assert (left[second].interaction.state, left[second].interaction.declined) == ("connected", set())
    assert (left[third].interaction.declined, left[third].interaction.passed_over) == ({"ann"}, None)
    assert left[third].interaction.returns_to == "cid"
    assert (left[third].interaction.state, left[third].offers) == ("offered", {"cid"})  # back to who handed it on


def test_max_wait_overflows_to_another_queue_then_to_voicemail(desk):
    desk.acd.add_queue(Queue("backup", max_wait=60, overflow="voicemail"))
    desk.acd.add_queue(Queue("front", max_wait=30, overflow="backup"))
    interaction = desk.acd.arrive("front").id
    desk.advance(30)
    assert desk.acd.interactions[interaction].queue == "backup"
    desk.advance(60)
    assert interaction not in desk.acd.interactions
    assert [(e.event, e.queue) for e in desk.events if e.interaction == interaction] == [
        ("enter", "front"), ("overflow", "front"), ("enter", "backup"), ("overflow", "backup"),
        ("voicemail", "backup")]


def test_max_length_overflows_at_once_and_without_overflow_the_interaction_ends(desk):
    desk.acd.add_queue(Queue("q", max_length=1))
    desk.acd.arrive("q", id="first")
    desk.acd.arrive("q", id="second")
    assert desk.named("abandon")[0].interaction == "second"
    assert desk.named("abandon")[0].data["reason"] == "max_length"
    assert list(desk.acd.interactions) == ["first"]


def test_abandon_while_offered_withdraws_the_offer(desk):
    desk.acd.add_queue(Queue("q"))
    desk.acd.login("a")
    interaction = desk.acd.arrive("q").id
    desk.advance(3)
    desk.acd.abandon(interaction)
    assert desk.named("abandon")[0].data == {"reason": "caller", "wait": 3}
    assert desk.named("withdraw", agent="a")
    assert desk.acd.agents["a"].state == "idle" and desk.acd.agents["a"].load == {"voice": 0}
    with pytest.raises(Conflict):
        desk.acd.accept("a", interaction)


def test_position_and_expected_wait(desk):
    desk.acd.add_queue(Queue("q"))
    desk.acd.login("a")
    first = desk.acd.arrive("q").id
    desk.acd.accept("a", first)
    desk.advance(100)
    desk.acd.complete("a", first)
    desk.acd.set_status("a", "break", "coffee")
    waiting = [desk.acd.arrive("q").id for _ in range(3)]
    assert [desk.acd.position(i) for i in waiting] == [1, 2, 3]
    assert [desk.acd.expected_wait(i) for i in waiting] == [100, 200, 300]


def test_chat_capacity_lets_an_agent_hold_several_chats(desk):
    desk.acd.add_queue(Queue("chat", channel="chat"))
    desk.acd.login("a", capacity={"chat": 2, "voice": 1})
    chats = [desk.acd.arrive("chat").id for _ in range(3)]
    for chat in chats[:2]:
        desk.acd.accept("a", chat)
    assert desk.offered_to(chats[2]) == []
    desk.acd.complete("a", chats[0])
    assert desk.offered_to(chats[2]) == ["a"]


def test_logout_is_refused_while_connected_and_requeues_offers(desk):
    desk.acd.add_queue(Queue("q"))
    desk.acd.login("a")
    desk.acd.login("b")
    first = desk.acd.arrive("q").id
    second = desk.acd.arrive("q").id
    desk.acd.accept("a", first)
    with pytest.raises(Conflict):
        desk.acd.logout("a")
    desk.acd.logout("b")
    assert desk.acd.interactions[second].state == "waiting"
    assert desk.named("agent_status", agent="b")[-1].data == {"status": "logged_out", "reason": ""}


def test_queues_name_only_defined_queues_and_installed_strategies(desk):
    with pytest.raises(ConfigError, match="define it first"):
        desk.acd.add_queue(Queue("q", overflow="missing"))
    with pytest.raises(ConfigError, match="no routing strategy 'fastest'"):
        desk.acd.add_queue(Queue("q", strategy="fastest"))


def test_state_moves_to_a_new_acd_without_losing_or_repeating_anything(desk):
    desk.acd.add_queue(Queue("q", wrap_up=30))
    desk.acd.add_queue(Queue("chat", channel="chat"))
    desk.acd.login("a", capacity={"voice": 1, "chat": 2})
    desk.acd.login("b")
    desk.acd.login("c")
    talking = desk.acd.arrive("q", id="talking").id
    desk.acd.accept("a", talking)
    desk.acd.arrive("q", id="ringing")
    wrapped = desk.acd.arrive("q", id="wrapped").id
    desk.acd.accept("c", wrapped)
    desk.acd.complete("c", wrapped)
    desk.acd.arrive("q", id="waiting", priority=1)
    desk.advance(10)
    desk.swap()
    acd = desk.acd
    assert acd.interactions["talking"].state == "connected" and acd.agents["a"].connected == {"talking"}
    assert desk.named("withdraw", interaction="ringing")[-1].data == {"reason": "restart"}
    assert desk.named("wrap_end", agent="c")[-1].data == {"of": "wrapped", "seconds": 10}
    assert acd.agents["b"].offers == {"waiting"} and acd.agents["c"].offers == {"ringing"}
    acd.complete("a", "talking", "done")
    assert acd.agents["a"].calls == 1 and acd.agents["a"].talk_time == 10
    assert [e.event for e in desk.events if e.interaction == "ringing"] == [
        "enter", "offer", "withdraw", "offer"]


def test_a_queue_added_later_routes_to_agents_ready_on_its_channel_since_before(desk):
    desk.acd.add_queue(Queue("calls"))
    desk.acd.login("ann", capacity={"voice": 1, "chat": 2})     # no chat queue yet
    desk.acd.add_queue(Queue("chats", channel="chat"))
    first, second = desk.acd.arrive("chats").id, desk.acd.arrive("chats").id
    assert desk.offered_to(first) == ["ann"] and desk.offered_to(second) == ["ann"]
    assert desk.offered_to(desk.acd.arrive("chats").id) == []                # at capacity
    call = desk.acd.arrive("calls").id
    assert desk.offered_to(call) == ["ann"]                                   # voice is apart


def test_an_agent_on_break_is_ready_on_no_channel_not_even_one_without_a_queue(desk):
    desk.acd.add_queue(Queue("calls"))
    desk.acd.login("ann", capacity={"voice": 1, "chat": 2})
    chat = desk.acd.arrive("calls", channel="chat").id         # a chat through a voice queue
    desk.acd.accept("ann", chat)
    desk.acd.set_status("ann", "break", "lunch")
    assert desk.acd.agents["ann"].readiness == {}
    desk.acd.login("bob", capacity={"chat": 1})
    desk.acd.add_queue(Queue("chats", channel="chat"))
    assert desk.offered_to(desk.acd.arrive("chats").id) == ["bob"]
