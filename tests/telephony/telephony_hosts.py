"""The telephony service hosted for tests: in a ``caruso serve`` process (sippy allows one SIP
stack per process), on free ports, with an RTP range of its own, and a reader of its events.
"""
from __future__ import annotations

import time
from typing import Any

import attrs

from sip_peers import free_port, rtp_range

EVENT_WAIT = 30.0


@attrs.define
class Telephony:
    """A hosted instance: ``host`` (its process), ``service`` (a client proxy of the active
    instance), ``port`` (its public SIP port), ``config``."""

    host: Any
    service: Any
    port: int
    config: dict[str, Any]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reader(self) -> "EventReader":
        return EventReader(self.service)


def telephony_config(**overrides: Any) -> dict[str, Any]:
    """A configuration on a free port, answering 100 and 200, short RTP timeouts."""
    config: dict[str, Any] = {"udp_port": free_port(), "numbers": ["100", "200"], "drain_limit": 60,
                              "media": {"rtp_ports": rtp_range(), "rtp_timeout": 4}}
    config.update(overrides)
    return config


def host_telephony(hosts: Any, client: Any, **overrides: Any) -> Telephony:
    """Host the service with :func:`telephony_config` in a process of ``hosts`` (the
    ``caruso_cluster`` or the ``caruso_host`` factory)."""
    config = telephony_config(**overrides)
    start = hosts.host if hasattr(hosts, "host") else hosts
    host = start("telephony", process=True, config=config)
    return Telephony(host, client.get("caruso.telephony/1"), config["udp_port"], config)


class EventReader:
    """Reads a telephony instance's events from now on, and waits for the ones a test expects."""

    def __init__(self, service: Any) -> None:
        self.service = service
        first = service.events(None, 0)
        self.since, self.epoch = first["next"], first["epoch"]
        self.seen: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> None:
        answer = self.service.events(self.since, timeout, self.epoch)
        assert not answer["missed"], f"events were missed after {self.since}"
        self.since, self.epoch = answer["next"], answer["epoch"]
        self.seen.extend(answer["events"])

    def next(self, event: str, call: str | None = None, limit: float = EVENT_WAIT, **fields: Any) -> dict[str, Any]:
        """The first unread event named ``event`` (of ``call``, with ``fields``), once it came;
        the events before it stay readable."""
        deadline = time.monotonic() + limit
        while True:
            for index, seen in enumerate(self.seen):
                if seen["event"] == event and call in (None, seen["call"]) and all(
                        seen.get(key) == value for key, value in fields.items()):
                    return self.seen.pop(index)
            left = deadline - time.monotonic()
            assert left > 0, f"no {event} event for {call or 'any call'} within {limit}s; seen: {self.seen}"
            self._read(min(left, 5.0))

    def of(self, call: str) -> list[str]:
        """The names of the unread events of ``call`` read so far."""
        self._read(0)
        return [seen["event"] for seen in self.seen if seen["call"] == call]
