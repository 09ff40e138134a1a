"""Legs towards the agent desk in a browser: WebRTC media through rtpengine, the SDP
exchanged through the interface (the front office carries it to the page).

Contract of :class:`BrowserLegs` (one per switchboard; every method taking a ``call``
runs on that call's serial, through :meth:`Switchboard.command`):

- :meth:`ring` offers the caller's media to rtpengine for a browser (ICE, DTLS-SRTP,
  rtcp-mux, Opus transcoded to and from the caller's G.711) and emits ``leg_ringing``
  at once: the leg's offer waits in :meth:`legs` for the agent's page.
- :meth:`legs` (any thread) lists an agent's browser legs with the offer of those that
  ring; asking counts as a sign of life of the agent's page. :meth:`snapshot` lists every
  agent's legs the same way (each with its ``agent``), asking nobody's page.
- :meth:`answer` takes the page's SDP answer: the caller's media is re-pointed at the
  leg, blocked until the application bridges it. The leg connects (ICE, DTLS) while it
  still rings; ``leg_answered`` follows once rtpengine counts :data:`MEDIA_PACKETS` of
  the browser's packets (looked at every :data:`ARRIVAL_CHECK` seconds by
  :meth:`watch_arrivals`), so a browser whose media never connects fails like a leg
  nobody answered.
- :meth:`end` is the page's end of a leg: a ringing one fails (``leg_failed`` 480 with
  the page's reason: declined, microphone refused, ICE failure), an answered or bridged
  one ends as a hang-up by the agent. A page that goes away (reasons :data:`PAGE_GONE`)
  loses its leg, as below.
- :meth:`hold` blocks the agent's audio and plays hold audio to the caller, or undoes it.
- Every second :meth:`watch` ends the legs whose page stopped asking for ``page_timeout``
  seconds (a closed tab, a lost network: 480 "Browser Gone"), and the connecting or
  bridged legs whose browser sent no media (fewer than :data:`MEDIA_PACKETS` packets
  between two checks: its RTCP alone goes on) for ``media_timeout`` seconds ("No Media": 480
  while connecting, the agent's hang-up once bridged), each after a ``leg_lost`` event. A
  lost leg stays in :meth:`legs` for ``page_timeout`` seconds as ``{"call", "leg", "state":
  "lost", "reason"}``, so the page can tell its agent why the call ended.
- In a drain swap the pages ask the new instance (:meth:`pages_elsewhere`, from the
  export of the state on): :meth:`pages_seen` brings the agents whose page asked there
  since the last news, each with the seconds since it last asked, and page timeouts are
  judged as of the last news. So a slow or broken link to the new instance ends no leg
  for want of news, and a closed tab still ends its leg ``page_timeout`` seconds after
  its last question. :meth:`pages_here` goes back (the swap did not happen): every leg
  counts as seen now.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import attrs

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_telephony.calls import CALLER, Call, Leg
from caruso_telephony.media.control import MAX_SDP

MAX_REASON = 80
OPUS = {"codec": {"transcode": ["opus"], "mask": ["PCMU", "PCMA"]}}
PAGE_GONE = ("Page Closed", "Page Left")       # the page's own ends that mean it went away
MEDIA_PACKETS = 5       # a second of media: a browser sends 50 (20 ms Opus, muted too), its RTCP alone about 1
ARRIVAL_CHECK = 0.05    # seconds between looks at a connecting leg's first media (the answer waits on it)


@attrs.define(eq=False)
class _BrowserLeg:
    call: Call
    leg: Leg
    agent: str
    offer: str
    seen: float
    packets: int = -1
    packets_since: float = 0.0
    connecting: bool = False            # answered by the page, no media from the browser yet


class BrowserLegs:
    """See the module's contract; ``switchboard`` holds the calls, its media and clock."""

    def __init__(self, switchboard: Any, page_timeout: float = 5.0, media_timeout: float = 5.0) -> None:
        self.switchboard = switchboard
        self.page_timeout = page_timeout
        self.media_timeout = media_timeout
        self._legs: dict[str, _BrowserLeg] = {}
        self._losses: list[tuple[float, str, dict[str, str]]] = []      # (when, agent, what legs() lists)
        self._news: float | None = None        # pages ask elsewhere: when they were last heard of
        self._lock = threading.Lock()
        switchboard.clock.every(1.0, self.watch)
        switchboard.clock.every(ARRIVAL_CHECK, self.watch_arrivals)

    def ring(self, call: Call, leg: Leg) -> None:
        media = self.switchboard.media
        offer = media.offer(call.id, CALLER, call.caller_sdp or "", to_tag=leg.id, webrtc=True, extra=OPUS)
        call.media = True
        with self._lock:
            self._legs[leg.id] = _BrowserLeg(call, leg, leg.target["browser"], offer, time.monotonic())
        leg.rang = True
        self.switchboard.events.emit("leg_ringing", call.id, leg=leg.id)

    def legs(self, agent: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            self._prune()
            mine = [browser for browser in self._legs.values() if browser.agent == agent]
            for browser in mine:
                browser.seen = now
            lost = [note for _, of, note in self._losses if of == agent]
        return [_described(browser) for browser in mine] + lost

    def snapshot(self) -> list[dict[str, Any]]:
        """Every agent's legs as :meth:`legs` gives them, lost ones included, each with its ``agent``."""
        with self._lock:
            self._prune()
            every = list(self._legs.values())
            lost = [{"agent": of, **note} for _, of, note in self._losses]
        return [{"agent": browser.agent, **_described(browser)} for browser in every] + lost

    def pages_elsewhere(self) -> None:
        with self._lock:
            self._news = time.monotonic()

    def pages_seen(self, ages: dict[str, float]) -> None:
        now = time.monotonic()
        with self._lock:
            for browser in self._legs.values():
                if browser.agent in ages:
                    browser.seen = max(browser.seen, now - max(0.0, float(ages[browser.agent])))
            if self._news is not None:
                self._news = now

    def pages_here(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._news = None
            for browser in self._legs.values():
                browser.seen = now

    def answer(self, call: Call, leg_id: str, sdp: str) -> None:
        browser = self._browser(call, leg_id)
        if not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP:
            raise InvalidInput(f"an SDP answer is a str of 1 to {MAX_SDP} characters")
        if browser.leg.state != "ringing" or browser.connecting:
            raise Conflict(f"leg {leg_id} is {'connecting' if browser.connecting else browser.leg.state}, not ringing")
        media = self.switchboard.media
        call.answer_sdp = media.answer(call.id, CALLER, leg_id, sdp)
        call.peer = leg_id
        media.block(call.id, leg_id)
        browser.connecting, browser.packets_since = True, time.monotonic()

    def end(self, call: Call, leg_id: str, reason: str) -> None:
        browser = self._browser(call, leg_id)
        reason = str(reason)[:MAX_REASON] or "Browser Ended"
        if reason in PAGE_GONE:
            self._lost(call, browser, reason)
        else:
            self._finish(call, browser, reason)

    def _finish(self, call: Call, browser: _BrowserLeg, reason: str) -> None:
        if browser.leg.state == "ringing":
            self.switchboard._leg_failed(call, browser.leg, 480, reason)
        else:
            self.switchboard._leg_ended(call, browser.leg, "agent")

    def hold(self, call: Call, leg_id: str, on: bool) -> None:
        self._browser(call, leg_id)
        self.switchboard.hold_leg(call, leg_id, on)

    def watch(self) -> None:
        with self._lock:
            self._prune()
            judged = time.monotonic() if self._news is None else self._news
            gone = [b for b in self._legs.values() if judged - b.seen > self.page_timeout]
            talking = [b for b in self._legs.values() if (b.connecting or b.leg.state == "bridged") and b not in gone]
        for browser in gone:
            self.switchboard._post(browser.call, self._lost, browser, "Browser Gone")
        for browser in talking:
            self.switchboard._post(browser.call, self._listen, browser)

    def watch_arrivals(self) -> None:
        """Every ``ARRIVAL_CHECK`` seconds: a connecting leg whose browser sent
        ``MEDIA_PACKETS`` (the page sends nothing before its answer) is answered
        (:meth:`watch` still judges its silence)."""
        with self._lock:
            connecting = [b for b in self._legs.values() if b.connecting]
        for browser in connecting:
            self.switchboard._post(browser.call, self._arrival, browser)

    def _arrival(self, call: Call, browser: _BrowserLeg) -> None:
        if call.over or not browser.connecting:
            return
        packets = self.switchboard.media.stats(call.id).get(browser.leg.id, {}).get("sent_packets", 0)
        if packets >= MEDIA_PACKETS:
            self._connected(call, browser)

    def _listen(self, call: Call, browser: _BrowserLeg) -> None:
        if call.over or not (browser.connecting or browser.leg.state == "bridged"):
            return
        packets = self.switchboard.media.stats(call.id).get(browser.leg.id, {}).get("sent_packets", 0)
        now = time.monotonic()
        fresh, browser.packets = packets - max(browser.packets, 0), packets
        if fresh >= MEDIA_PACKETS:
            browser.packets_since = now
            if browser.connecting:
                self._connected(call, browser)
        elif now - browser.packets_since >= self.media_timeout:
            self._lost(call, browser, "No Media")

    def _connected(self, call: Call, browser: _BrowserLeg) -> None:
        """The browser's media arrived: the leg is answered."""
        browser.connecting = False
        self.switchboard._cancel_deadline(browser.leg)
        browser.leg.state = "answered"
        self.switchboard.events.emit("leg_answered", call.id, leg=browser.leg.id)

    def _lost(self, call: Call, browser: _BrowserLeg, reason: str) -> None:
        if call.over or call.legs.get(browser.leg.id) is not browser.leg:
            return
        self.switchboard.events.emit("leg_lost", call.id, leg=browser.leg.id, reason=reason)
        with self._lock:
            self._losses.append((time.monotonic(), browser.agent,
                                 {"call": call.id, "leg": browser.leg.id, "state": "lost", "reason": reason}))
        self._finish(call, browser, reason)

    def _browser(self, call: Call, leg_id: str) -> _BrowserLeg:
        with self._lock:
            browser = self._legs.get(leg_id) if isinstance(leg_id, str) else None
        if browser is None or browser.call is not call or call.legs.get(leg_id) is not browser.leg:
            raise NotFound(f"call {call.id} has no browser leg {leg_id!r:.80}")
        return browser

    def _prune(self) -> None:
        """Forget legs that ended and losses older than ``page_timeout`` (under the lock)."""
        for leg_id in [leg_id for leg_id, b in self._legs.items()
                       if b.call.over or b.call.legs.get(leg_id) is not b.leg]:
            del self._legs[leg_id]
        now = time.monotonic()
        self._losses = [loss for loss in self._losses if now - loss[0] <= self.page_timeout]


def _described(browser: _BrowserLeg) -> dict[str, Any]:
    """A leg as :meth:`BrowserLegs.legs` lists it."""
    leg, call = browser.leg, browser.call
    return {"call": call.id, "leg": leg.id, "state": leg.state, "caller": call.caller_number, "to": call.to,
            "started": leg.started, "holding": call.holding and leg.state == "bridged",
            **({"offer": browser.offer} if leg.state == "ringing" else {})}
