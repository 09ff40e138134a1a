"""The voice channel's dispatcher with a stand-in for telephony (in this process): a
call's work does not wait for another call's, yet the ACD's events about one agent keep
their order across calls (a withdrawn call stops ringing before the next one rings)."""
from __future__ import annotations

import threading
import time
import types

import pytest

from caruso_comm.channels.voice import VoiceChannel
from caruso_comm.events import OFFER, WITHDRAW, Event
from caruso_core.testing import eventually


class Telephony:
    """Records what the channel asks; cancelling a leg waits until ``release`` is set."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.release = threading.Event()

    def ring(self, call: str, target: dict, caller: str | None = None) -> str:
        self.asked.append(("ring", call))
        return f"leg-{call}"

    def cancel_leg(self, call: str, leg: str) -> None:
        self.asked.append(("cancelling", call))
        self.release.wait(60)
        self.asked.append(("cancelled", call))

    def events(self, cursor, wait, epoch) -> dict:
        time.sleep(min(wait, 0.2))
        return {"events": [], "next": cursor, "epoch": epoch, "missed": False}


@pytest.fixture
def channel():
    telephony = Telephony()
    context = types.SimpleNamespace(client=types.SimpleNamespace(get=lambda key: telephony),
                                    draining=threading.Event())
    channel = VoiceChannel(server=None, context=context)
    channel.import_state({"cursor": 0, "epoch": "e", "calls": {
        "A": {"interaction": "ia", "phase": "queue", "legs": {"leg-A": "ann"}},
        "B": {"interaction": "ib", "phase": "queue"}, "C": {"interaction": "ic", "phase": "queue"}}})
    channel.start()
    yield channel, telephony
    telephony.release.set()
    channel.stop()


def test_a_call_offered_to_an_agent_rings_once_the_call_withdrawn_from_them_stopped_ringing(channel):
    channel, telephony = channel
    channel.observe(Event(time.time(), WITHDRAW, "ia", "q", "ann"))
    eventually(lambda: ("cancelling", "A") in telephony.asked, what="A's leg being cancelled")
    channel.observe(Event(time.time(), OFFER, "ib", "q", "ann"))       # the same agent: after A's cancel
    channel.observe(Event(time.time(), OFFER, "ic", "q", "bob"))       # another agent: at once
    eventually(lambda: ("ring", "C") in telephony.asked, limit=10, what="C ringing while A's leg is being cancelled")
    telephony.release.set()
    eventually(lambda: ("ring", "B") in telephony.asked, what="B ringing")
    assert telephony.asked.index(("cancelled", "A")) < telephony.asked.index(("ring", "B"))
