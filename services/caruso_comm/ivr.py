"""IVR: a dialog script answers a voice call before the ACD; its outcome routes the call.

The menu is any object with ``begin(script, context)`` and ``press(session, keys)``
returning a turn with ``session``, ``prompt``, ``done`` and ``outcome`` (the script
engine's IVR runner over the ``caruso.scripts/1`` service). ``routes`` maps outcomes
to targets: a queue name, ``"voicemail:QUEUE"`` (the caller leaves a message for
that queue) or ``"self_service"`` (the call ends in the IVR); other outcomes go to
``default``. The script's context has ``caller`` and ``customer_id``.
"""
from __future__ import annotations

from typing import Any, Mapping

import attrs

from caruso_core.errors import ConfigError, Conflict, NotFound

from caruso_comm.acd import ACD
from caruso_comm.voicemail import VoicemailBox

SELF_SERVICE = "self_service"
VOICEMAIL_PREFIX = "voicemail:"


@attrs.define
class _Call:
    session: str
    caller: str | None
    customer: str | None
    target: str | None = None


class Ivr:
    """Voice calls in an IVR menu; ``voicemail`` is needed for voicemail targets."""

    def __init__(self, acd: ACD, menu: Any, script: str, routes: Mapping[str, str], default: str,
                 voicemail: VoicemailBox | None = None) -> None:
        for target in [*routes.values(), default]:
            queue = target[len(VOICEMAIL_PREFIX):] if target.startswith(VOICEMAIL_PREFIX) else target
            if target != SELF_SERVICE and queue not in acd.queues:
                raise ConfigError(f"IVR {script!r}: target {target!r} is no queue, "
                                  f"'voicemail:QUEUE' or '{SELF_SERVICE}'")
            if target.startswith(VOICEMAIL_PREFIX) and voicemail is None:
                raise ConfigError(f"IVR {script!r}: target {target!r} needs a voicemail box")
        self.acd, self.menu, self.script = acd, menu, script
        self.routes, self.default, self.voicemail = dict(routes), default, voicemail
        self._calls: dict[str, _Call] = {}

    def call(self, call_id: str, *, caller: str | None = None, customer: str | None = None) -> dict[str, Any]:
        """A call reaches the IVR; returns the first prompt (see :meth:`press`)."""
        if call_id in self._calls or call_id in self.acd.interactions:
            raise Conflict(f"call {call_id!r} exists already")
        turn = self.menu.begin(self.script, {"caller": caller, "customer_id": customer})
        self._calls[call_id] = _Call(turn.session, caller, customer)
        self.acd.record("ivr_start", interaction=call_id, script=self.script, session=turn.session,
                        caller=caller, customer=customer)
        return self._turn(call_id, turn)

    def press(self, call_id: str, keys: str) -> dict[str, Any]:
        """The caller keyed ``keys``: ``{"prompt", "done", "target"}``; when done, the call has
        been routed to ``target``."""
        call = self._call(call_id)
        if call.target is not None:
            raise Conflict(f"call {call_id!r} has left the IVR for {call.target!r}")
        return self._turn(call_id, self.menu.press(call.session, keys))

    def leave_message(self, call_id: str, content: bytes | str) -> dict[str, Any]:
        """The caller routed to voicemail left ``content``; returns the message."""
        call = self._call(call_id)
        if not (call.target or "").startswith(VOICEMAIL_PREFIX):
            raise Conflict(f"call {call_id!r} was not routed to voicemail")
        del self._calls[call_id]
        return self.voicemail.deposit(call.target[len(VOICEMAIL_PREFIX):], content, caller=call.caller,
                                      customer=call.customer).to_dict()

    def hang_up(self, call_id: str) -> None:
        """The caller hung up while in the IVR (or before leaving a message)."""
        call = self._calls.pop(call_id, None)
        if call is not None and call.target is None:
            self.acd.record("ivr_abandon", interaction=call_id, script=self.script)

    def _call(self, call_id: str) -> _Call:
        if call_id not in self._calls:
            raise NotFound(f"no call {call_id!r} in the IVR")
        return self._calls[call_id]

    def _turn(self, call_id: str, turn: Any) -> dict[str, Any]:
        target = self._route(call_id, turn.outcome) if turn.done else None
        return {"prompt": turn.prompt, "done": turn.done, "target": target}

    def _route(self, call_id: str, outcome: str | None) -> str:
        call = self._calls[call_id]
        call.target = self.routes.get(outcome or "", self.default)
        self.acd.record("ivr_end", interaction=call_id, script=self.script, outcome=outcome,
                        target=call.target)
        if call.target == SELF_SERVICE:
            del self._calls[call_id]
        elif not call.target.startswith(VOICEMAIL_PREFIX):
            del self._calls[call_id]
            self.acd.arrive(call.target, id=call_id, from_=call.caller, customer=call.customer)
        return call.target
