"""The calls a telephony instance holds, and their legs.

Contract: a :class:`Call` is one customer conversation: the caller's dialog (inbound from
the trunk, or outbound placed by ``dial``) and its :class:`Leg` s towards agents or
numbers, each leg ringing one or several dialogs (every registered contact of an agent's
phone). Call and leg ids are made here, unique across instances (they start with the
instance's random tag), short enough to name media sessions. A call's state is changed
only by tasks on its :class:`~caruso_core.lanes.Lane`; the table's indexes are
thread-safe. :class:`CallTable` finds a call by id or by the SIP Call-ID of any of its
dialogs, until sippy forgot the dialog (so late retransmissions still find the call);
a call counts as *held* from its creation until it ended.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from typing import Any, Iterator

import attrs

from caruso_core.errors import NotFound
from caruso_core.lanes import Lane
from caruso_telephony.sip.dialogs import Dialog

CALLER = "caller"                 # the media tag of the caller's side
PLACEHOLDER = "prompts"           # the media tag answering a caller who hears prompts only


@attrs.define(eq=False)
class Leg:
    """``target``: ``{"agent": ID}`` or ``{"number": N}``; ``state``: ringing, answered,
    bridged, ended or failed; ``dialogs``: one per contact rung; ``answered_by``: the one
    that answered."""

    id: str
    target: dict[str, str]
    dialogs: list[Dialog] = attrs.Factory(list)
    state: str = "ringing"
    answered_by: Dialog | None = None
    rang: bool = False
    failures: list[tuple[int, str]] = attrs.Factory(list)
    deadline: Any = None
    started: float = attrs.Factory(time.time)

    def summary(self) -> dict[str, Any]:
        return {"leg": self.id, "target": dict(self.target), "state": self.state, "started": self.started}


@attrs.define(eq=False)
class Call:
    """``direction``: inbound or outbound; ``state``: incoming (the caller hears ringing),
    dialing (an outbound call rings), answered, ended."""

    id: str
    direction: str
    serial: Lane
    caller: Dialog | None = None
    to: str = ""
    caller_number: str = ""
    caller_name: str | None = None
    state: str = "incoming"
    legs: dict[str, Leg] = attrs.Factory(dict)
    bridged: str | None = None
    caller_sdp: str | None = None        # the caller's own latest SDP
    answer_sdp: str | None = None        # what rtpengine gives the caller, from the latest answer
    peer: str = PLACEHOLDER              # the media tag the caller's media is answered by
    media: bool = False                  # rtpengine holds a session for the call
    prompt: dict[str, Any] | None = None
    prompt_deadline: Any = None
    holding: bool = False
    recording: dict[str, Any] | None = None
    deadline: Any = None
    started: float = attrs.Factory(time.time)
    answered: float | None = None

    @property
    def over(self) -> bool:
        return self.state == "ended"

    def dialogs(self) -> Iterator[Dialog]:
        if self.caller is not None:
            yield self.caller
        for leg in self.legs.values():
            yield from leg.dialogs

    def summary(self) -> dict[str, Any]:
        return {"call": self.id, "direction": self.direction, "state": self.state, "to": self.to,
                "caller": self.caller_number, "caller_name": self.caller_name, "bridged": self.bridged,
                "playing": self.prompt["play"] if self.prompt else None, "holding": self.holding,
                "recording": self.recording is not None,
                "started": self.started, "answered": self.answered,
                "legs": [leg.summary() for leg in self.legs.values()]}


class CallTable:
    """See the module's contract; ``tag`` names the instance in ids."""

    def __init__(self, tag: str | None = None) -> None:
        self.tag = tag or secrets.token_hex(3)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._calls: dict[str, Call] = {}
        self._held: set[str] = set()
        self._by_dialog: dict[str, Call] = {}

    def new_id(self, kind: str) -> str:
        return f"{kind}-{self.tag}-{next(self._numbers)}"

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls[call.id] = call
            self._held.add(call.id)

    def index(self, dialog: Dialog, call: Call) -> None:
        with self._lock:
            self._by_dialog[dialog.call_id] = call

    def forget(self, dialog: Dialog) -> None:
        """sippy forgot ``dialog``; the call goes too once it ended and all its dialogs went."""
        with self._lock:
            call = self._by_dialog.pop(dialog.call_id, None)
            if call is not None and call.over and not any(
                    self._by_dialog.get(other.call_id) is call for other in call.dialogs()):
                self._calls.pop(call.id, None)

    def ended(self, call: Call) -> None:
        with self._lock:
            self._held.discard(call.id)
            if not any(self._by_dialog.get(dialog.call_id) is call for dialog in call.dialogs()):
                self._calls.pop(call.id, None)

    def get(self, call_id: str) -> Call:
        with self._lock:
            call = self._calls.get(call_id) if isinstance(call_id, str) else None
        if call is None or call.over:
            raise NotFound(f"no call {call_id!r:.80} is held here")
        return call

    def by_dialog(self, sip_call_id: str) -> Call | None:
        with self._lock:
            return self._by_dialog.get(sip_call_id)

    def held(self) -> list[Call]:
        with self._lock:
            return [self._calls[call_id] for call_id in self._held if call_id in self._calls]

    def count(self) -> int:
        with self._lock:
            return len(self._held)

    def dialogs(self) -> int:
        with self._lock:
            return len(self._by_dialog)
