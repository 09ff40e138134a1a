"""The monitor service conforms to caruso.monitor/1, hosted over Pyro5."""
from __future__ import annotations

import pytest

from caruso_core.testing import contract_suite
from caruso_comm.eventlog import EventLog
from caruso_comm.events import Event


class TestMonitorService(contract_suite("caruso.monitor/1")):
    @pytest.fixture
    def event_log(self, tmp_path):
        return f"sqlite:///{tmp_path / 'comm.db'}"

    @pytest.fixture
    def service(self, caruso_host, caruso_client, event_log):
        caruso_host("monitor", config={"db": event_log, "poll": 0.1})
        return caruso_client.get("caruso.monitor/1")

    @pytest.fixture
    def write_events(self, event_log):
        def write(events: list[dict]) -> None:
            log = EventLog(event_log)
            for event in events:
                log.append(Event(**event))
            log.close()
        return write
