"""The contract of ``caruso.comm/1``: what every communication server must do.

Tests take the fixture ``service`` (a client of a fresh server with no queues).
"""
from __future__ import annotations

import pytest

from caruso_core.errors import ConfigError, Conflict, NotFound
from caruso_core.testing import ContractSuite

from caruso_comm.events import COMPLETE, CONNECT, ENTER, OFFER


def _flow(feed: dict, interaction: str) -> list[str]:
    return [e["event"] for e in feed["events"] if e["interaction"] == interaction]


class CommContract(ContractSuite):
    interface = "caruso.comm/1"

    def test_an_agent_takes_and_completes_an_interaction_and_the_feed_shows_it(self, service):
        service.add_queue({"name": "sales"})
        assert service.login("ann", {"sales": 2}, {"voice": 1})["status"] == "available"
        call = service.arrive("sales", customer="c1", from_="+4930111")
        assert (call["state"], call["offers"], call["customer"]) == ("offered", ["ann"], "c1")
        assert service.agent("ann")["state"] == "offered"
        assert service.accept("ann", call["id"])["state"] == "connected"
        service.complete("ann", call["id"], "sale")
        feed = service.events(0, 0)
        assert _flow(feed, call["id"]) == [ENTER, OFFER, CONNECT, COMPLETE]
        complete = [e for e in feed["events"] if e["event"] == COMPLETE][0]
        assert complete["agent"] == "ann" and complete["data"]["disposition"] == "sale"
        assert [e["seq"] for e in feed["events"]] == list(range(1, feed["last"] + 1))

    def test_the_feed_waits_for_new_events_and_returns_none_after_the_timeout(self, service):
        last = service.events(0, 0)["last"]
        assert service.events(last, 0.2) == {"last": last, "events": [], "missed": 0}

    def test_waiting_interactions_have_a_position_and_expected_wait(self, service):
        service.add_queue({"name": "support"})
        first = service.arrive("support")["id"]
        second = service.arrive("support")["id"]
        assert [w["id"] for w in service.waiting("support")] == [first, second]
        assert service.interaction(second)["position"] == 2
        assert service.interaction(second)["expected_wait"] > 0
        service.abandon(first)
        assert service.interaction(second)["position"] == 1
        with pytest.raises(NotFound):
            service.interaction(first)

    def test_transfer_to_a_queue_routes_to_its_agents(self, service):
        service.add_queue({"name": "front"})
        service.add_queue({"name": "billing", "skills": {"billing": 1}})
        service.login("fay", {}, {"voice": 1})
        service.login("bill", {"billing": 3}, {"voice": 1})
        call = service.arrive("front")["id"]
        service.accept(service.interaction(call)["offers"][0], call)
        holder = service.interaction(call)["agent"]
        service.transfer(holder, call, queue="billing")
        assert service.interaction(call)["offers"] == ["bill"]

    def test_voicemail_becomes_a_callback_task(self, service):
        service.add_queue({"name": "sales"})
        message = service.leave_voicemail("sales", "please call back", caller="+4930222", customer="c9")
        assert (message["queue"], message["caller"], message["customer"]) == ("sales", "+4930222", "c9")
        assert [w["id"] for w in service.waiting("sales")] == [message["callback"]]
        assert [m["id"] for m in service.voicemails("sales")] == [message["id"]]

    def test_without_ivr_menus_no_number_is_answered_by_an_ivr(self, service):
        assert service.ivrs() == []
        with pytest.raises(NotFound):
            service.ivr_call("call1", to="+3120100", caller="+3130111")
        with pytest.raises(NotFound):
            service.ivr_press("call1", "1")
        with pytest.raises(NotFound):
            service.interaction("call1")

    def test_errors_name_the_problem(self, service):
        service.add_queue({"name": "sales"})
        with pytest.raises(Conflict):
            service.add_queue({"name": "sales"})
        with pytest.raises(ConfigError):
            service.add_queue({"name": "bad", "strategy": "no_such_strategy"})
        with pytest.raises(NotFound):
            service.arrive("no_such_queue")
        service.login("ann", {}, {"voice": 1})
        with pytest.raises(Conflict):
            service.accept("ann", "no_such_interaction")
        with pytest.raises(NotFound):
            service.agent("nobody")
