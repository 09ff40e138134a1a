"""Outbound campaigns in simulation: pacing, the abandon cap, do-not-call, retries, windows."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from caruso_core.errors import ConfigError, Conflict
from caruso_comm.campaign import Campaign, Contact, Retry, read_contacts
from caruso_comm.dialers.sim import SimDialer
from caruso_comm.service import CommServer
from caruso_comm.simulator import Scenario, Simulation

RETRIES = {"no_answer": Retry(3, 1800), "busy": Retry(3, 600)}


def _contacts(count: int) -> list[Contact]:
    return [Contact(f"+4930{n:06d}", customer=f"c{n}") for n in range(count)]


def _run(pacing, contacts, *, agents=10, dnc=(), windows=("00:00-24:00",), start=0.0, seed=1,
         during=None, zone=dt.timezone.utc):
    simulation = Simulation(Scenario(agents=agents, calls_per_hour=0, aht=120, hours=1, seed=seed,
                                     start=start))
    dialer = SimDialer(simulation.timers, seed=seed)
    campaign = Campaign("spring", simulation.acd, "sim", dialer, contacts, pacing=pacing,
                        windows=windows, retries=RETRIES, dnc=dnc, zone=zone)
    events = []
    simulation.observers += [campaign.observe, events.append]
    if during is not None:
        simulation.timers.at(start + during[0], during[1], campaign)
    campaign.start()
    simulation.run()
    return campaign, dialer, events


def test_predictive_pacing_keeps_abandons_under_the_cap_and_never_dials_do_not_call():
    contacts = _contacts(3000)
    blocked = {c.number for c in contacts[::25]}
    campaign, dialer, events = _run("predictive", contacts, dnc=blocked)
    figures = campaign.figures()
    assert campaign.state == "finished"
    assert figures["answered"] > 500 and 0 < figures["abandoned"]
    assert figures["abandon_rate"] <= 0.03
    assert not blocked & set(dialer.dialed)
    assert {c.status for c in contacts if c.number in blocked} == {"dnc"}
    assert all(c.attempts <= 3 for c in contacts)
    assert any(c.attempts == 3 and c.disposition == "no_answer" for c in contacts)
    answered = sum(e.event == "dial_result" and e.data["result"] == "answered" for e in events)
    dropped = sum(e.event == "abandon" and e.data["reason"] == "no agent" for e in events)
    assert (answered, dropped) == (figures["answered"], figures["abandoned"])


def _first_pass(events) -> float:
    """When every contact had its first attempt."""
    return max(e.time for e in events if e.event == "dial" and e.data["attempt"] == 1)


def test_predictive_pacing_gets_through_the_list_sooner_than_progressive():
    predictive, _, predictive_events = _run("predictive", _contacts(1500))
    progressive, _, progressive_events = _run("progressive", _contacts(1500))
    assert progressive.figures()["abandoned"] == 0
    assert predictive.figures()["abandoned"] > 0
    assert _first_pass(predictive_events) < 0.95 * _first_pass(progressive_events)


def test_a_number_added_to_do_not_call_while_running_is_never_dialed():
    contacts = _contacts(400)
    late = contacts[-1].number
    campaign, dialer, _ = _run("progressive", contacts, during=(60, lambda c: c.add_dnc(late)))
    assert late not in dialer.dialed and contacts[-1].status == "dnc"
    assert campaign.state == "finished"


def test_a_campaign_whose_last_contacts_opted_out_finishes():
    contacts = _contacts(200)
    leaving = {c.customer for c in contacts[-20:]}
    campaign, dialer, _ = _run("progressive", contacts, during=(30, lambda c: c.opt_out(leaving)))
    assert {c.status for c in contacts[-20:]} == {"opted_out"}
    assert not {c.number for c in contacts[-20:]} & set(dialer.dialed)
    assert campaign.state == "finished"


def test_preview_offers_the_contact_to_an_agent_before_dialing():
    campaign, dialer, events = _run("preview", _contacts(60), agents=3)
    assert campaign.state == "finished" and campaign.figures()["abandoned"] == 0
    first = events.index(next(e for e in events if e.event == "dial"))
    call = events[first].interaction
    assert [e.event for e in events[:first] if e.interaction == call] == ["enter", "offer", "connect"]
    no_answer = next(e for e in events if e.event == "dial_result" and e.data["result"] != "answered")
    completed = next(e for e in events if e.event == "complete" and e.interaction == no_answer.interaction)
    assert completed.data["disposition"] == no_answer.data["result"]


def test_calls_are_placed_only_inside_the_calling_window():
    campaign, _, events = _run("progressive", _contacts(300), windows=["09:00-10:00"], start=8 * 3600.0)
    dial_times = [e.time % 86400 for e in events if e.event == "dial"]
    assert dial_times and min(dial_times) == 9 * 3600
    assert all(9 * 3600 <= t < 10 * 3600 for t in dial_times)
    assert max(e.time for e in events if e.event == "dial") > 86400


@pytest.mark.parametrize("zone, windows, start, first", [
    ("Asia/Kolkata", ["09:00-10:00"], 0.0, 3.5 * 3600),                 # UTC+5:30: 09:00 there is 03:30 UTC
    ("Europe/Amsterdam", ["09:00-12:00"],                               # 01:00 on the night clocks go forward:
     dt.datetime(2026, 3, 29, tzinfo=dt.timezone.utc).timestamp(), 7 * 3600),   # 09:00 CEST, seven hours on
])
def test_calling_windows_are_times_of_day_in_the_campaign_s_zone(zone, windows, start, first):
    _, _, events = _run("progressive", _contacts(30), windows=windows, start=start, zone=ZoneInfo(zone))
    assert min(e.time for e in events if e.event == "dial") == start + first


def test_the_server_refuses_an_unknown_time_zone_before_it_opens_anything(tmp_path):
    with pytest.raises(ConfigError, match="^comm timezone: unknown time zone 'Europe/Amsterdm'"):
        CommServer(db=f"sqlite:///{tmp_path / 'comm.db'}", timezone="Europe/Amsterdm")
    assert not (tmp_path / "comm.db").exists()


def test_states_and_transitions():
    simulation = Simulation(Scenario(agents=2, calls_per_hour=0, aht=60, hours=1))
    campaign = Campaign("c", simulation.acd, "sim", SimDialer(simulation.timers, seed=1),
                        _contacts(3))
    assert campaign.state == "draft"
    with pytest.raises(Conflict):
        campaign.pause()
    campaign.start()
    campaign.pause()
    campaign.resume()
    campaign.finish()
    with pytest.raises(Conflict):
        campaign.resume()
    with pytest.raises(ConfigError, match="pacing 'fast'"):
        Campaign("d", simulation.acd, "sim", None, [], pacing="fast")


def test_call_lists_are_read_from_csv_with_errors_naming_the_line():
    contacts = read_contacts("number,customer\n+49 30 123456,c1\n(030) 999-111,\n", "list.csv")
    assert [(c.number, c.customer) for c in contacts] == [("+4930123456", "c1"), ("030999111", None)]
    with pytest.raises(ConfigError, match=r"list.csv, line 3: 'x' is not a phone number"):
        read_contacts("number\n123456\nx\n", "list.csv")
    with pytest.raises(ConfigError, match="list.csv, line 1: no 'number' column"):
        read_contacts("phone\n123\n", "list.csv")
