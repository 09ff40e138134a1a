"""Voicemail messages become callback tasks routed like any interaction."""
from __future__ import annotations

import pytest

from caruso_core.errors import InvalidInput
from caruso_comm.acd import ACD
from caruso_comm.model import Queue
from caruso_comm.timers import Timers
from caruso_comm.voicemail import VoicemailBox


def test_a_message_becomes_a_callback_task_routed_to_an_agent(desk):
    desk.acd.add_queue(Queue("callbacks", skills={"callback": 1}))
    desk.acd.add_queue(Queue("sales", max_wait=60, overflow="voicemail"))
    box = VoicemailBox(desk.acd, {"sales": "callbacks"})
    call = desk.acd.arrive("sales", from_="+4930111", customer="c7").id
    desk.advance(60)
    assert desk.named("voicemail", interaction=call)
    desk.advance(15)
    message = box.deposit("sales", b"RIFF...", caller="+4930111", customer="c7")
    assert (message.queue, message.caller, message.customer, message.time) == ("sales", "+4930111", "c7", 75)
    desk.acd.login("caller-backer", skills={"callback": 1})
    assert desk.offered_to(message.callback) == ["caller-backer"]
    enter = desk.named("enter", interaction=message.callback)[0]
    assert (enter.queue, enter.data["direction"], enter.data["to"]) == ("callbacks", "outbound", "+4930111")
    assert box.get(message.id).content == b"RIFF..."
    assert [m.id for m in box.messages("sales")] == [message.id] and box.messages("other") == []


def test_a_message_needs_content(desk):
    desk.acd.add_queue(Queue("q"))
    with pytest.raises(InvalidInput):
        VoicemailBox(desk.acd).deposit("q", "")


def test_message_ids_stay_unique_after_a_restart_of_the_box(desk):
    desk.acd.add_queue(Queue("q"))
    before = VoicemailBox(desk.acd).deposit("q", "first")
    restarted = VoicemailBox(desk.acd)                  # a new server starts with an empty box
    after = restarted.deposit("q", "second")
    assert after.id != before.id and after.callback != before.callback
    assert restarted.get(after.id).content == "second"



def test_stored_messages_held_again_have_their_new_callbacks_routed_with_the_same_ids(desk):
    desk.acd.add_queue(Queue("q"))
    desk.acd.add_queue(Queue("gone"))
    box = VoicemailBox(desk.acd)
    desk.advance(30)
    waiting = box.deposit("q", "call me", caller="+4930111")
    done = box.deposit("q", "never mind")
    orphan = box.deposit("gone", "lost")
    done.state = "called_back"
    restart = ACD(Timers(desk.clock), desk.events.append)   # a restart: the ACD knows nothing live
    restart.add_queue(Queue("q"))
    restarted = VoicemailBox(restart)
    desk.advance(600)
    assert restarted.load([waiting, done, orphan]) == [orphan]
    assert list(restart.interactions) == [waiting.callback]
    task = restart.interactions[waiting.callback]
    assert (task.created, task.entered) == (waiting.time, desk.clock.now) == (30, 630)
    assert restarted.load([waiting]) == []                  # held already: not routed twice
    assert len(desk.named("enter", interaction=waiting.callback)) == 2
    assert restart.login("ann", {}, {"voice": 1}).snapshot()["interactions"] == [waiting.callback]
    assert [m.id for m in restarted.messages()] == [waiting.id, done.id, orphan.id]
