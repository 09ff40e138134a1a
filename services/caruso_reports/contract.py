"""The contract of ``caruso.reports/1``: what every reports service must do.

Tests take the fixtures ``service`` (a client of a reports service over an event log)
and ``write_events`` (a callable appending events, given as dicts with the keys
``time``, ``event``, ``interaction``, ``queue``, ``agent``, ``data``, to that log).
"""
from __future__ import annotations

from typing import Any

import pytest

from caruso_core.errors import ConfigError, InvalidInput, NotFound
from caruso_core.testing import ContractSuite

from caruso_comm.events import ABANDON, CONNECT, ENTER

DAY = 1_767_225_600.0   # 2026-01-01 00:00 UTC
DEFINITION = 'measures = ["offered", "answered", "abandoned", "asa"]\ndimensions = ["queue"]\n'


def _event(offset: float, event: str, interaction: str, queue: str, agent: str | None = None,
           **data: Any) -> dict[str, Any]:
    return {"time": DAY + offset, "event": event, "interaction": interaction, "queue": queue,
            "agent": agent, "data": data}


class ReportsContract(ContractSuite):
    interface = "caruso.reports/1"

    @pytest.fixture
    def calls(self, write_events) -> None:
        write_events([_event(0, ENTER, "c1", "sales", channel="voice"),
                      _event(4, CONNECT, "c1", "sales", "ann", wait=4.0),
                      _event(10, ENTER, "c2", "sales", channel="voice"),
                      _event(30, ABANDON, "c2", "sales", reason="caller", wait=20.0),
                      _event(40, ENTER, "c3", "support", channel="voice"),
                      _event(48, CONNECT, "c3", "support", "bob", wait=8.0)])

    def test_a_definition_is_computed_by_its_dimensions(self, service, calls):
        report = service.run(DEFINITION, "calls")
        assert (report["dimensions"], report["measures"]) == (["queue"], ["offered", "answered", "abandoned", "asa"])
        assert report["rows"] == [
            {"queue": "sales", "offered": 2, "answered": 1, "abandoned": 1, "asa": 4.0},
            {"queue": "support", "offered": 1, "answered": 1, "abandoned": 0, "asa": 8.0}]

    def test_range_period_and_filters_replace_the_definitions_own(self, service, calls):
        report = service.run(DEFINITION.replace('["queue"]', '["period", "queue"]'), "calls",
                             DAY, DAY + 3600, "15min", {"queue": ["sales"]})
        assert [(r["period"], r["queue"], r["offered"]) for r in report["rows"]] == [
            ("2026-01-01 00:00", "sales", 2)]
        assert service.run(DEFINITION, "calls", DAY + 86400, DAY + 2 * 86400)["rows"] == []
        india = service.run(DEFINITION.replace('["queue"]', '["period"]'), "calls", None, None, "hour",
                            None, "Asia/Kolkata")
        assert (india["timezone"], [(r["period"], r["offered"]) for r in india["rows"]]) == (
            "Asia/Kolkata", [("2026-01-01 05:00", 3)])

    def test_the_built_in_definitions_are_known_by_name(self, service, calls):
        names = [d["name"] for d in service.definitions()]
        assert {"incoming-calls", "agent-availability", "voicemail", "campaign-results"} <= set(names)
        report = service.report("incoming-calls", None, None, "day")
        assert [(r["period"], r["queue"], r["offered"], r["answered"]) for r in report["rows"]] == [
            ("2026-01-01 00:00", "sales", 2, 1), ("2026-01-01 00:00", "support", 1, 1)]
        with pytest.raises(NotFound):
            service.report("outgoing-calls")

    def test_bad_definitions_are_refused_with_one_line(self, service, calls):
        with pytest.raises(ConfigError, match="unknown measure 'ofered'"):
            service.run('measures = ["ofered"]', "bad")
        with pytest.raises(ConfigError, match="unknown dimension 'hour'"):
            service.run('measures = ["offered"]\ndimensions = ["hour"]', "bad")
        with pytest.raises(ConfigError, match="empty or inverted"):
            service.run(DEFINITION, "calls", DAY + 60, DAY)

    def test_a_known_definition_is_rendered_by_a_renderer(self, service, calls):
        assert service.render("incoming-calls", "png", None, None, "day").startswith(b"\x89PNG")
        assert b"sales" in service.render("incoming-calls", "csv")
        with pytest.raises(InvalidInput, match="no renderer 'gif'"):
            service.render("incoming-calls", "gif")
