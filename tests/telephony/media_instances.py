"""Media layers for tests: started on free ports, with what they reported, and calls on them.

``running_media(tmp_path, **settings)`` starts a :class:`Media` whose ``on_dtmf`` and
``on_timeout`` land in a :class:`Reports`; ``media`` is one per test module.
``bridged_call`` and ``ivr_call`` set up a call's media between RTP peers.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import attrs
import pytest

from caruso_core.ports import free_port_range
from caruso_core.testing import eventually
from caruso_telephony.media import Media, MediaSettings
from rtp_peers import RtpPeer


@attrs.define
class Reports:
    dtmf: list[tuple[str, str, str]] = attrs.Factory(list)
    timeouts: list[str] = attrs.Factory(list)

    def on_dtmf(self, call: str, tag: str, digit: str) -> None:
        self.dtmf.append((call, tag, digit))

    def on_timeout(self, call: str) -> None:
        self.timeouts.append(call)

    def digits(self, call: str, count: int, limit: float = 10.0) -> list[tuple[str, str]]:
        """(leg tag, digit) of the call's first ``count`` key presses, once they arrived."""
        pressed = eventually(lambda: [(tag, digit) for c, tag, digit in list(self.dtmf) if c == call],
                             lambda got: len(got) >= count, limit, what=f"{count} digits of call {call}")
        return pressed[:count]

    def timed_out(self, call: str, limit: float = 20.0) -> None:
        eventually(lambda: call in self.timeouts, limit=limit, what=f"on_timeout({call!r})")


class ReportedMedia(Media):
    reports: Reports


def free_rtp_range(size: int = 200) -> tuple[int, int]:
    """A range of ``size`` RTP ports no other relay of the run is given
    (:func:`caruso_core.ports.free_port_range`)."""
    return free_port_range(size)


@contextlib.contextmanager
def running_media(folder: Path, **settings: Any) -> Iterator[ReportedMedia]:
    reports = Reports()
    settings.setdefault("rtp_ports", free_rtp_range())
    media = ReportedMedia(MediaSettings(recordings=folder / "recordings", prompts=folder / "prompts", **settings),
                          reports.on_dtmf, reports.on_timeout)
    media.reports = reports
    media.start()
    try:
        yield media
    finally:
        media.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportedMedia]:
    with running_media(tmp_path_factory.mktemp("media")) as started:
        yield started


@contextlib.contextmanager
def bridged_call(media: Media, call: str) -> Iterator[tuple[RtpPeer, RtpPeer]]:
    """A caller (tag ``caller``) and an agent (tag ``agent``) whose media rtpengine relays."""
    caller, agent = RtpPeer(), RtpPeer()
    try:
        agent.connect(media.offer(call, "caller", caller.sdp()))
        caller.connect(media.answer(call, "caller", "agent", agent.sdp()))
        yield caller, agent
    finally:
        media.delete(call)
        caller.close()
        agent.close()


@contextlib.contextmanager
def ivr_call(media: Media, call: str) -> Iterator[RtpPeer]:
    """A caller (tag ``caller``) answered against the placeholder (tag ``ivr``)."""
    caller = RtpPeer()
    try:
        media.offer(call, "caller", caller.sdp())
        caller.connect(media.answer(call, "caller", "ivr", media.placeholder_sdp()))
        yield caller
    finally:
        media.delete(call)
        caller.close()
