"""The contract of ``caruso.monitor/1``: what every status monitor must do.

Tests take the fixtures ``service`` (a client of a monitor following an empty event
log) and ``write_events`` (a callable appending events, given as dicts with the keys
``time``, ``event``, ``interaction``, ``queue``, ``agent``, ``data``, to that log).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from caruso_core.testing import ContractSuite

from caruso_comm.events import ABANDON, AGENT_STATUS, CONNECT, ENTER, OFFER

LIMIT = 30.0


def _until(service: Any, check: Callable[[dict], bool]) -> dict:
    """The first picture passing ``check`` (the monitor follows the log by polling)."""
    deadline = time.monotonic() + LIMIT
    picture = service.updates(-1, 0.0)
    while not check(picture) and time.monotonic() < deadline:
        picture = service.updates(picture["version"], 1.0)
    return picture


def _event(event: str, *, interaction: str | None = None, queue: str | None = None,
           agent: str | None = None, **data: Any) -> dict[str, Any]:
    return {"time": time.time(), "event": event, "interaction": interaction, "queue": queue,
            "agent": agent, "data": data}


class MonitorContract(ContractSuite):
    interface = "caruso.monitor/1"

    def test_agents_appear_with_status_state_and_time_in_state(self, service, write_events):
        write_events([_event(AGENT_STATUS, agent="ann", status="available", reason=""),
                      _event(AGENT_STATUS, agent="bob", status="break", reason="lunch")])
        picture = _until(service, lambda p: len(p["agents"]) == 2)
        assert [(a["id"], a["status"], a["reason"], a["state"]) for a in picture["agents"]] == [
            ("ann", "available", "", "idle"), ("bob", "break", "lunch", "idle")]
        assert all(a["seconds_in_state"] >= 0 for a in picture["agents"])
        assert picture["agent_counts"]["logged_in"] == 2
        write_events([_event(AGENT_STATUS, agent="bob", status="logged_out", reason="")])
        picture = _until(service, lambda p: len(p["agents"]) == 1)
        assert [a["id"] for a in picture["agents"]] == ["ann"]

    def test_waiting_interactions_and_service_level_per_queue(self, service, write_events):
        write_events([_event(ENTER, interaction="c1", queue="sales", channel="voice"),
                      _event(ENTER, interaction="c2", queue="sales", channel="voice")])
        picture = _until(service, lambda p: len(p["waiting"]) == 2)
        assert [(w["id"], w["queue"], w["state"]) for w in picture["waiting"]] == [
            ("c1", "sales", "waiting"), ("c2", "sales", "waiting")]
        write_events([_event(ABANDON, interaction="c1", queue="sales", reason="caller", wait=3.0),
                      _event(OFFER, interaction="c2", queue="sales", agent="ann"),
                      _event(CONNECT, interaction="c2", queue="sales", agent="ann", wait=4.0)])
        picture = _until(service, lambda p: not p["waiting"])
        (sales,) = picture["queues"]
        assert (sales["queue"], sales["waiting"], sales["connected"], sales["answered"],
                sales["abandoned"], sales["service_level"]) == ("sales", 0, 1, 1, 1, 0.5)

    def test_updates_return_when_the_timeout_passes_without_news(self, service, write_events):
        write_events([_event(AGENT_STATUS, agent="ann", status="available", reason="")])
        picture = _until(service, lambda p: len(p["agents"]) == 1)
        started = time.monotonic()
        quiet = service.updates(picture["version"], 0.3)
        assert quiet["version"] == picture["version"] and time.monotonic() - started >= 0.25
