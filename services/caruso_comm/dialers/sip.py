"""The ``sip`` dialer: campaigns' calls placed through the telephony component, by the
server's ``voice`` channel (:mod:`caruso_comm.channels.voice`).

Results: ``answered``; ``busy`` (486, 600); ``no_answer`` (480, 408, no answer within the
ring time); ``invalid`` (404, 484, 604: the number does not exist); ``failed`` (5xx, or the
call could not be placed). An answered call enters the campaign's queue and is bridged to
the agent the ACD offers it to, as an inbound call is. A hot-swap hands the calls not
reported yet over with the voice channel's calls.
"""
from __future__ import annotations

from typing import Any

from caruso_comm.dialer import DialerContext, Report


class SipDialer:
    def __init__(self, context: DialerContext, channel: str = "voice") -> None:
        self._context, self._channel = context, channel
        self._pending: set[str] = set()

    def settings(self) -> dict[str, Any]:
        return {"channel": self._channel}

    def dial(self, call: str, number: str, report: Report) -> None:
        self._pending.add(call)
        self._voice().dial(call, number, self._reporter(call, report))

    def export_state(self) -> dict[str, Any]:
        return {"calls": sorted(self._pending)}

    def import_state(self, state: dict[str, Any], report: Report) -> None:
        for call in state.get("calls", []):
            self._pending.add(call)
            self._voice().expect(call, self._reporter(call, report))

    def _reporter(self, call: str, report: Report) -> Any:
        def reported(result: str) -> None:
            with self._context.lock:
                self._pending.discard(call)
                report(call, result)
        return reported

    def _voice(self) -> Any:
        return self._context.channel(self._channel)
