"""Dialers come from the hook ``caruso_dialers``: a plugin's dialer places a campaign's calls
without any change to the server. The telephony side is a stand-in (no SIP yet) that
answers from a thread of its own, as telephony events arrive."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from caruso_core import hookimpl, plugins
from caruso_core.errors import ConfigError

from caruso_comm.dialer import DialerContext, Report

from comm_servers import running  # noqa: F401  (a fixture)

CALL_LIST = "number,customer\n+49301001,K1\n+49301002,K2\n+49301009,K3\n"


class Telephony:
    """Stands in for the telephony component: places calls and tells each result from a
    thread of its own; numbers ending in 9 are busy."""

    def __init__(self) -> None:
        self.placed: list[tuple[str, str, str]] = []

    def place(self, call: str, number: str, trunk: str, told: Any) -> None:
        self.placed.append((call, number, trunk))
        threading.Thread(target=told, args=("busy" if number.endswith("9") else "answered",)).start()


class TelephonyDialer:
    """A dialer of the telephony side, as a telephony component would provide it."""

    def __init__(self, context: DialerContext, telephony: Telephony, trunk: str = "main") -> None:
        self.context, self.telephony, self.trunk = context, telephony, trunk
        self.ringing: set[str] = set()

    def dial(self, call: str, number: str, report: Report) -> None:
        self.ringing.add(call)
        self.telephony.place(call, number, self.trunk, lambda result: self._told(call, result, report))

    def _told(self, call: str, result: str, report: Report) -> None:
        with self.context.lock:               # results arrive on the telephony's thread
            self.ringing.discard(call)
            report(call, result)

    def settings(self) -> dict[str, Any]:
        return {"trunk": self.trunk}

    def export_state(self) -> dict[str, Any]:
        return {"ringing": sorted(self.ringing)}

    def import_state(self, state: dict[str, Any], report: Report) -> None:
        self.ringing = set(state["ringing"])


@pytest.fixture
def telephony():
    """A plugin providing the dialer ``telephony``, registered as installed plugins are."""
    line = Telephony()

    class Plugin:
        @hookimpl
        def caruso_dialers(self):
            return {"telephony": lambda context, **settings: TelephonyDialer(context, line, **settings)}

    manager = plugins.plugin_manager()
    name = manager.register(Plugin(), name="test-telephony")
    yield line
    manager.unregister(name=name)


def _work(server, agent: str, done: Any) -> None:
    """``agent`` accepts and completes every call offered until ``done()``, following the feed."""
    since = 0
    while not done():
        feed = server.events(since, 5.0)
        assert feed["events"], "no event in 5 s"
        since = feed["last"]
        for event in feed["events"]:
            if event["event"] == "offer" and event["agent"] == agent:
                server.accept(agent, event["interaction"])
                server.complete(agent, event["interaction"], "sold")


def test_a_campaign_dials_through_the_dialer_a_plugin_provides(telephony, running):
    server = running(queues=[{"name": "out"}], dialer="telephony")
    server.login("ann", {}, {"voice": 1})
    server.add_campaign("spring", "out", CALL_LIST, retries={"busy": [1, 0]}, dialer={"trunk": "berlin"})
    server.campaign("spring", "start")
    _work(server, "ann", lambda: server.campaign("spring")["state"] == "finished")
    assert sorted(number for _, number, _ in telephony.placed) == ["+49301001", "+49301002", "+49301009"]
    assert {trunk for _, _, trunk in telephony.placed} == {"berlin"}
    summary = server.campaign("spring")
    assert (summary["dialed"], summary["answered"], summary["contacts"]) == (3, 2, {"done": 3})
    results = [e["data"]["result"] for e in server.events(0, 0)["events"] if e["event"] == "dial_result"]
    assert sorted(results) == ["answered", "answered", "busy"]


def test_a_campaign_names_its_dialer_and_keeps_it_across_a_hand_over(telephony, running):
    old = running(queues=[{"name": "out"}])                           # the standard dialer by default
    old.add_campaign("simulated", "out", CALL_LIST)
    old.add_campaign("real", "out", CALL_LIST, dialer={"use": "telephony", "trunk": "hamburg"})
    state = old.export_state()
    old.deactivate()
    assert {c["name"]: c["dialer"] for c in state["campaigns"]} == {
        "simulated": {"use": "sim", "answer_rate": 0.3, "busy_rate": 0.1, "ring": 12.0,
                      "no_answer_after": 25.0, "busy_after": 3.0, "seed": 0},
        "real": {"use": "telephony", "trunk": "hamburg"}}
    new = running(queues=[{"name": "out"}])
    new.import_state(state)
    new.login("bob", {}, {"voice": 1})
    new.campaign("real", "start")
    _work(new, "bob", lambda: new.campaign("real")["state"] == "finished")
    assert {trunk for _, _, trunk in telephony.placed} == {"hamburg"}


def test_a_dialer_nobody_provides_is_a_configuration_error(running):
    with pytest.raises(ConfigError, match="no dialer 'isdn' \\(installed: sim, sip"):
        running(dialer="isdn")
    server = running(queues=[{"name": "out"}])
    with pytest.raises(ConfigError, match="no dialer 'isdn'"):
        server.add_campaign("spring", "out", CALL_LIST, dialer={"use": "isdn"})
    with pytest.raises(ConfigError, match="dialer 'sim': .*'trunk'"):
        server.add_campaign("spring", "out", CALL_LIST, dialer={"trunk": "x"})


def test_a_campaign_exported_before_campaigns_named_their_dialer_is_taken_over_with_the_simulated_one(running):
    old = running(queues=[{"name": "out"}])
    old.add_campaign("spring", "out", CALL_LIST, dialer={"ring": 5})
    state = old.export_state()
    campaign = state["campaigns"][0]
    settings = {key: value for key, value in campaign.pop("dialer").items() if key != "use"}
    campaign["dialer"] = {"settings": settings, **campaign.pop("dialing")}     # the shape exported then
    new = running(queues=[{"name": "out"}])
    new.import_state(state)
    assert new.export_state()["campaigns"][0]["dialer"] == {"use": "sim", **settings}
