"""A campaign's accept window (``connect_within``) and auto-accept on an ACD on a virtual
clock: answered calls wait as long as the window says, auto-accept connects them to the
offered agent at once, both survive a hand-over and the storage service's records."""
from __future__ import annotations

import math

import pytest

from caruso_core.errors import ConfigError
from caruso_comm.acd import ACD
from caruso_comm.campaign import Campaign, Contact
from caruso_comm.dialers.sim import SimDialer
from caruso_comm.model import Queue
from caruso_comm.records import CommRecords, stored_campaign
from caruso_comm.timers import Timers
from caruso_storage.service import StorageManager


def _contacts(count: int) -> list[Contact]:
    return [Contact(f"+4930{n:06d}", customer=f"K{n}") for n in range(count)]


def _campaign(desk, contacts, strategy="longest_idle", **options) -> Campaign:
    """A campaign on the queue ``sales`` whose every call is answered about a second after it is dialed."""
    desk.acd.add_queue(Queue("sales", strategy=strategy))
    campaign = Campaign("spring", desk.acd, "sales", SimDialer(desk.timers, answer_rate=1.0, ring=1.0, seed=3),
                        contacts, **options)
    desk.acd.sink = lambda event: (desk.events.append(event), campaign.observe(event))
    return campaign


def _offered(desk) -> str:
    """The first answered call offered to an agent (the clock moved until it is)."""
    for _ in range(100):
        if desk.named("offer"):
            return desk.named("offer")[0].interaction
        desk.advance(0.5)
    raise AssertionError("no call offered in 50 s")


@pytest.mark.parametrize("window, connected", [(2.0, False), (10.0, True)])
def test_an_answered_call_waits_for_the_agent_as_long_as_the_accept_window(desk, window, connected):
    campaign = _campaign(desk, _contacts(1), connect_within=window)
    desk.acd.login("ann", {}, {"voice": 1})
    campaign.start()
    call = _offered(desk)
    desk.advance(5)                                  # the agent takes 5 s to click
    if connected:
        desk.acd.accept("ann", call)
        assert [e.agent for e in desk.named("connect", interaction=call)] == ["ann"]
        assert campaign.figures()["abandoned"] == 0
    else:
        assert [e.data["reason"] for e in desk.named("abandon", interaction=call)] == ["no agent"]
        assert campaign.figures()["abandoned"] == 1
    assert campaign.summary()["connect_within"] == window


@pytest.mark.parametrize("options, message", [
    ({"connect_within": 0}, "campaign 'spring': connect_within 0 is not a number of seconds from 0.5 to 120"),
    ({"connect_within": 121}, "connect_within 121 is not a number of seconds from 0.5 to 120"),
    ({"connect_within": math.nan}, "connect_within nan is not a number of seconds"),
    ({"connect_within": "5"}, "connect_within '5' is not a number of seconds"),
    ({"connect_within": True}, "connect_within True is not a number of seconds"),
    ({"auto_accept": "yes"}, "campaign 'spring': auto_accept 'yes' is not true or false"),
    ({"auto_accept": True, "pacing": "preview"}, "a preview campaign dials only after its agent accepted"),
])
def test_a_bad_accept_window_or_auto_accept_is_refused_in_one_line(desk, options, message):
    with pytest.raises(ConfigError, match=message) as refused:
        _campaign(desk, _contacts(1), **options)
    assert "\n" not in str(refused.value)


def _complete_after(desk, seconds: float):
    """A sink that also completes every connected call ``seconds`` after it connected (agents who never accept)."""
    sink = desk.acd.sink

    def follow(event):
        sink(event)
        if event.event == "connect":
            desk.timers.at(event.time + seconds, desk.acd.complete, event.agent, event.interaction, "sold")
    return follow


@pytest.mark.parametrize("strategy", ["longest_idle", "ring_all"])
def test_auto_accept_connects_every_answered_call_to_the_offered_agent_at_once(desk, strategy):
    campaign = _campaign(desk, _contacts(30), strategy=strategy, auto_accept=True)
    desk.acd.sink = _complete_after(desk, 20)
    for agent in ("ann", "bob", "cid"):
        desk.acd.login(agent, {}, {"voice": 1})
    campaign.start()
    desk.advance(600)
    assert campaign.state == "finished"
    assert campaign.figures() == {"dialed": 30, "answered": 30, "abandoned": 0, "abandon_rate": 0.0}
    connects = desk.named("connect")
    assert len(connects) == 30 and all(e.data["wait"] == 0 for e in connects)
    for connect in connects:                      # each to an agent it was offered to, at that moment
        offers = desk.named("offer", interaction=connect.interaction)
        assert connect.agent in {e.agent for e in offers} and connect.time == offers[0].time
    assert {e.agent for e in connects} == {"ann", "bob", "cid"}
    assert {c.disposition for c in campaign.contacts} == {"sold"}


def test_without_auto_accept_nobody_is_connected_and_answered_calls_are_dropped(desk):
    campaign = _campaign(desk, _contacts(5))
    desk.acd.login("ann", {}, {"voice": 1})
    campaign.start()
    desk.advance(120)
    assert not desk.named("connect")
    assert campaign.figures()["abandoned"] == campaign.figures()["answered"] == 5


def test_a_hand_over_between_the_offer_and_the_auto_accept_still_connects_the_call(desk):
    campaign = _campaign(desk, _contacts(1), auto_accept=True, connect_within=7.5)
    handed = []
    sink = desk.acd.sink
    desk.acd.sink = lambda event: (sink(event), event.event == "offer" and not handed and handed.append(
        (desk.acd.export_state(), campaign.export_state())))
    desk.acd.login("ann", {}, {"voice": 1})
    campaign.start()
    _offered(desk)
    acd_state, state = handed[0]
    assert (state["connect_within"], state["auto_accept"], list(state["unconnected"])) == (7.5, True, ["spring-1"])
    desk.timers = Timers(desk.clock)                 # the new server: its own ACD and timers
    desk.events.clear()
    desk.acd = ACD(desk.timers, desk.events.append)
    desk.acd.import_state(acd_state)                 # the offer is withdrawn and made again
    again = Campaign.restore(desk.acd, SimDialer(desk.timers), state)
    desk.acd.sink = lambda event: (desk.events.append(event), again.observe(event))
    desk.advance(0)
    assert [(e.event, e.agent) for e in desk.events if e.interaction == "spring-1"] == [
        ("withdraw", "ann"), ("offer", "ann"), ("connect", "ann")]
    assert (again.connect_within, again.auto_accept) == (7.5, True)
    del state["auto_accept"]                         # exported before auto-accept existed
    older = ACD(Timers(desk.clock), list().append)
    older.add_queue(Queue("sales"))
    assert Campaign.restore(older, SimDialer(desk.timers), state).auto_accept is False


def test_the_accept_window_and_auto_accept_are_stored_and_read_back(desk, tmp_path):
    model = tmp_path / "crm.xml"
    model.write_text('<model name="crm"><include module="comm"/></model>')
    storage = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'crm.db'}")
    try:
        campaign = _campaign(desk, _contacts(2), connect_within=12.5, auto_accept=True, pacing="predictive")
        records = CommRecords(desk.acd, lambda: storage, campaigns=lambda: {"spring": campaign})
        records.collect()
        records.flush()
        record = storage.get("CommCampaign", "spring")
        assert (record["connect_within"], record["auto_accept"]) == (12.5, True)
        contacts = storage.query("CommCampaignContact", where={"field": "campaign", "value": "spring"})
        desk.swap()
        again = Campaign.restore(desk.acd, SimDialer(desk.timers), stored_campaign(record, contacts), written=True)
        assert (again.connect_within, again.auto_accept, again.pacing) == (12.5, True, "predictive")
        assert stored_campaign({**record, "auto_accept": None}, contacts)["auto_accept"] is False
    finally:
        storage.stop()
