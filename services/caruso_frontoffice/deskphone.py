"""The phone in the agent desk: the agent's browser legs in the telephony component
(``caruso.telephony/1``) and the agent's choice of phone.

Contract: every operation names the signed-in agent; an operation on a leg first checks
that the telephony component lists that leg among the agent's own, so no page acts on
another agent's call. Without a running telephony component the desk shows no phone
(:meth:`DeskPhone.choice` is None).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

from caruso_core.client import Client
from caruso_core.errors import CarusoError, Conflict, InvalidInput

TELEPHONY = "caruso.telephony/1"
KINDS = {"browser": "This browser (the desk's phone)", "sip": "My SIP phone", "number": "An external number"}
MAX_SDP = 16384
MAX_REASON = 80
AVAILABLE_SECONDS = 10.0


class DeskPhone:
    def __init__(self, client: Client, clock: Callable[[], float] = time.monotonic) -> None:
        self.telephony = client.service(TELEPHONY)
        self._client, self._clock = client, clock
        self._known: tuple[float, bool] = (-math.inf, False)

    def available(self) -> bool:
        """Whether a telephony component is registered (asked of the manager at most every
        ``AVAILABLE_SECONDS``: the sign-in page, which anyone may load, offers phones by it)."""
        now = self._clock()
        if now - self._known[0] >= AVAILABLE_SECONDS:
            try:
                found = bool(self._client.lookup(TELEPHONY))
            except CarusoError:
                found = False
            self._known = (now, found)
        return self._known[1]

    def choice(self, agent: str) -> dict[str, Any] | None:
        """``{"kind", "number"}`` of the agent's phone; None when telephony does not run."""
        try:
            return self.telephony.phone_choice(agent)
        except CarusoError:
            return None

    def choices(self, agents: list[str]) -> dict[str, dict[str, Any]]:
        """The phone of each of ``agents`` who has one; empty when telephony does not run
        (found at the first agent: one wait for a missing component, not one per agent)."""
        found = {}
        for agent in agents:
            choice = self.choice(agent)
            if choice is None:
                break
            found[agent] = choice
        return found

    def choose(self, agent: str, kind: str, number: str | None) -> None:
        if kind not in KINDS:
            raise InvalidInput(f"phone {kind!r:.40}: use one of {', '.join(KINDS)}")
        self.telephony.set_phone_choice(agent, kind, (number or "").strip() or None if kind == "number" else None)

    def legs(self, agent: str) -> list[dict[str, Any]]:
        """The agent's legs (a ringing one with the SDP offer for the page)."""
        return self.telephony.browser_legs(agent)

    def answer(self, agent: str, call: str, leg: str, sdp: str) -> None:
        if not 0 < len(sdp) <= MAX_SDP:
            raise InvalidInput(f"an SDP answer has 1 to {MAX_SDP} characters")
        self._own(agent, call, leg)
        self.telephony.browser_answer(call, leg, sdp)

    def end(self, agent: str, call: str, leg: str, reason: str) -> None:
        self._own(agent, call, leg)
        self.telephony.browser_end(call, leg, reason[:MAX_REASON])

    def hold(self, agent: str, call: str, leg: str, on: bool) -> None:
        self._own(agent, call, leg)
        self.telephony.browser_hold(call, leg, on)

    def bridged(self, agent: str) -> dict[str, Any] | None:
        """The call bridged to the agent's SIP phone: ``{"call", "leg", "holding"}``, or None."""
        for call in self.telephony.calls():
            for leg in call["legs"]:
                if leg["leg"] == call["bridged"] and leg["target"] == {"agent": agent}:
                    return {"call": call["call"], "leg": leg["leg"], "holding": call["holding"]}
        return None

    def hold_bridged(self, agent: str, on: bool) -> None:
        """Hold (or take back) the call bridged to the agent's SIP phone."""
        bridged = self.bridged(agent)
        if bridged is None:
            raise Conflict("no call is connected to your phone")
        self.telephony.hold_leg(bridged["call"], bridged["leg"], on)

    def _own(self, agent: str, call: str, leg: str) -> None:
        if not any(own["call"] == call and own["leg"] == leg for own in self.legs(agent)):
            raise Conflict(f"leg {leg!r:.40} of call {call!r:.40} is not (or no longer) yours")
