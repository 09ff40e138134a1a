"""The switchboard: what SIP, media and the interface's commands do to the calls an instance holds.

It is the B2BUA between each caller and the legs towards agents, with every SDP passed
through the media layer (rtpengine): the caller is answered against a placeholder while
it hears prompts, a leg's answer re-points the caller's media at the leg (the caller's
port stays, so the caller needs no re-INVITE), a bridge unblocks the leg's audio.

Contract:

- Every change to a call runs on the call's :class:`~caruso_core.lanes.Lane`: SIP
  reports (posted from the SIP loop), media reports (from the media layer's thread),
  deadlines (from the clock) and commands (a command waits for its task, at most
  ``COMMAND_TIMEOUT`` seconds, then fails with Unavailable). Tasks talk to sippy only
  through the stack's ``run``; the SIP loop never waits for a task, so nothing deadlocks.
- :meth:`Switchboard.incoming` (the SIP loop, an INVITE out of any dialog) answers 503
  with Retry-After beyond ``max_calls`` held calls, 404 to a number the trunk does not
  answer, 488 to an INVITE without SDP, 422 to a too brief session timer; otherwise the
  caller hears ringing and ``incoming`` is emitted.
- Commands raise NotFound for a call not held (or a leg not of the call), Conflict for a
  command the call's state does not allow, InvalidInput for bad arguments; their events
  follow in the event log (a leg's may come before ``ring`` returns).
- :meth:`Switchboard.intercept` (the SIP loop) answers what sippy would not: UPDATE in a
  dialog, and session refreshes (a re-INVITE with the SDP already agreed) with the
  session timer's fields.
- Every call ends with ``ended`` once: its dialogs hung up, its media deleted, its
  recording (if one runs) stopped and reported first.
"""
from __future__ import annotations

import concurrent.futures
import logging
import time
import wave
from pathlib import Path
from typing import Any, Callable

import attrs

from caruso_core.errors import CarusoError, Conflict, InvalidInput, NotFound, Unavailable
from caruso_core.lanes import Lane
from caruso_telephony.browserlegs import BrowserLegs
from caruso_telephony.calls import CALLER, PLACEHOLDER, Call, CallTable, Leg
from caruso_telephony.clock import Clock
from caruso_telephony.events import EventLog
from caruso_telephony.media.control import MAX_REPEAT
from caruso_telephony.phonechoice import PhoneChoices
from caruso_telephony.phones import Phones
from caruso_telephony.sip.dialogs import Dialog
from caruso_telephony.sip.message import Message, reply
from caruso_telephony.sip.sdp import answering
from caruso_telephony.sip.fields import respond
from caruso_telephony.sip.sessiontimer import TooBrief, negotiate
from caruso_telephony.sip.stack import RETRY_AFTER, SipStack
from caruso_telephony.sip.trunk import Trunk, check_caller_id, outcome

COMMAND_TIMEOUT = 10.0
MAX_RECORD_SECONDS = 3600
MAX_RING_SECONDS = 300
LEG_PREFERENCE = (486, 600, 603, 480, 408)     # the code a leg reports when its contacts differ

log = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class Policy:
    """``max_calls`` held at once; ``ring_limit``: seconds a leg may ring unanswered;
    ``hold_on_agent_hangup``: a bridged agent hanging up leaves the caller on hold
    (``leg_ended``) instead of ending the call; ``record_silence``: seconds without audio
    packets from the caller that end a recording."""

    max_calls: int = 100
    ring_limit: int = 120
    hold_on_agent_hangup: bool = False
    record_silence: int = 5


class Switchboard:
    """See the module's contract."""

    def __init__(self, *, stack: SipStack, media: Any, prompts: Any, phones: Phones, trunk: Trunk,
                 events: EventLog, table: CallTable, policy: Policy, workers: int = 16,
                 choices: PhoneChoices | None = None, browser: dict[str, float] | None = None) -> None:
        self.stack = stack
        self.media = media
        self.prompts = prompts
        self.phones = phones
        self.trunk = trunk
        self.events = events
        self.table = table
        self.policy = policy
        self.pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="telephony-call")
        self.clock = Clock()
        self.clock.every(1.0, self._check_sessions)
        self.choices = choices
        self.browsers = BrowserLegs(self, **(browser or {}))

    def close(self) -> None:
        self.clock.stop()
        self.pool.shutdown(wait=True)

    # -- the way in from other threads ---------------------------------------------------------

    def command(self, call_id: str, task: Callable[..., Any], *args: Any) -> Any:
        """Run ``task(call, *args)`` on the call's serial and return its result."""
        call = self.table.get(call_id)
        future = call.serial.post(self._held(task), call, *args)
        try:
            return future.result(COMMAND_TIMEOUT)
        except concurrent.futures.TimeoutError:
            raise Unavailable(f"call {call_id} did not take the command within {COMMAND_TIMEOUT:g}s") from None

    def _held(self, task: Callable[..., Any]) -> Callable[..., Any]:
        def run(call: Call, *args: Any) -> Any:
            if call.over:
                raise NotFound(f"call {call.id} has ended")
            return task(call, *args)
        return run

    def _post(self, call: Call, task: Callable[..., Any], *args: Any) -> None:
        try:
            call.serial.post(task, call, *args)
        except Unavailable:
            log.warning("call %s: %s dropped, its queue is full", call.id, getattr(task, "__name__", task))

    def _report(self, call: Call, leg: Leg | None = None) -> Callable[[Dialog, str, dict[str, Any]], None]:
        """The SIP loop's reports of one dialog of ``call``, as tasks of the call."""
        def report(dialog: Dialog, kind: str, data: dict[str, Any]) -> None:
            if kind == "gone":
                self.table.forget(dialog)
            else:
                self._post(call, self._dialog_event, dialog, leg, kind, data)
        return report

    def on_dtmf(self, call_id: str, tag: str, digit: str) -> None:
        """The media layer's report of a key pressed on leg ``tag``."""
        try:
            call = self.table.get(call_id)
        except NotFound:
            return
        if tag == CALLER:
            self._post(call, self._dtmf, digit)

    def on_timeout(self, call_id: str) -> None:
        """The media layer's report that rtpengine saw no media for its timeout."""
        try:
            call = self.table.get(call_id)
        except NotFound:
            return
        self._post(call, self._end, "media_timeout")

    def _check_sessions(self) -> None:
        now = time.monotonic()
        for call in self.table.held():
            if call.caller is not None and call.caller.session is not None and call.caller.session.expired(now):
                self._post(call, self._end, "session_expired")

    # -- the caller's INVITE (SIP loop) ------------------------------------------------------------

    def incoming(self, request: Any, transaction: Any) -> Any:
        number = request.getRURI().username
        if self.table.count() >= self.policy.max_calls:
            return respond(request, 503, "Service Unavailable", ("Retry-After", str(RETRY_AFTER)))
        if number not in self.trunk.numbers:
            return respond(request, 404, "Not Found")
        if request.getBody() is None:
            return respond(request, 488, "SDP Offer Required")
        try:
            session = negotiate(_field(request, "session-expires"), _field(request, "min-se"),
                                [str(body) for body in request.getHFBodys("supported")])
        except TooBrief as brief:
            return respond(request, 422, "Session Interval Too Small", ("Min-SE", str(brief.minimum)))
        call = Call(self.table.new_id("c"), "inbound", Lane(self.pool))
        dialog = Dialog(self.stack.global_config, self._report(call))
        dialog.session = session
        call.caller = dialog
        self.table.add(call)
        result = dialog.receive(request, transaction)
        self.table.index(dialog, call)
        dialog.ring()
        return result

    def intercept(self, message: Message, _data: bytes, source: Any, transport: Any) -> bool:
        """Answer UPDATE and session refreshes in dialogs of held calls (see the module's contract)."""
        if not message.is_request or message.method not in ("UPDATE", "INVITE") or ";tag=" not in (
                message.first("to") or "").replace(" ", "").lower():
            return False
        call = self.table.by_dialog(message.first("call-id") or "")
        dialog = next((d for d in call.dialogs() if d.call_id == message.first("call-id")), None) if call else None
        if dialog is None or not dialog.connected:
            return False
        if dialog.session is not None:
            dialog.session.refreshed()
        fields = dialog.session.headers() if dialog.session else []
        if message.method == "UPDATE":
            answer = reply(message, 488, "Offer In re-INVITE Only") if message.body else reply(message, 200, "OK", fields)
        elif dialog.session is not None and message.body.decode("utf-8") in ("", dialog.remote_sdp):
            contact = dialog.ua.lContact.localStr(transport.getSIPaddr())
            answer = reply(message, 200, "OK", [*fields, ("contact", contact)], sdp=dialog.local_sdp)
        else:
            return False
        self.stack.send(transport, answer.render(), source.address)
        return True

    # -- what SIP reports (tasks) ------------------------------------------------------------------

    def _dialog_event(self, call: Call, dialog: Dialog, leg: Leg | None, kind: str, data: dict[str, Any]) -> None:
        if call.over:
            if kind == "answered":
                self.stack.run(dialog.hangup)
            return
        if kind == "update":
            self._update(call, dialog, leg, data["sdp"])
        elif leg is not None:
            self._leg_event(call, leg, dialog, kind, data)
        elif call.direction == "outbound":
            self._dial_event(call, kind, data)
        elif kind == "offer":
            call.caller_sdp, call.to = data["sdp"], data["to"] or ""
            call.caller_number, call.caller_name = data["caller"] or "", data["caller_name"]
            self.events.emit("incoming", call.id, to=call.to, caller=call.caller_number, caller_name=call.caller_name)
        elif kind == "ended":
            self._end(call, "caller")

    def _update(self, call: Call, dialog: Dialog, leg: Leg | None, sdp: str | None) -> None:
        """A re-INVITE with a new offer, answered through rtpengine without asking the other side:
        its latest SDP (or the placeholder's) answers, in the direction the offer asks for."""
        try:
            if sdp is None:
                raise InvalidInput("a re-INVITE without an offer")
            if leg is None:
                call.caller_sdp = sdp
                self.media.offer(call.id, CALLER, sdp, to_tag=call.peer)
                call.answer_sdp = self.media.answer(call.id, CALLER, call.peer, answering(sdp, self._peer_sdp(call)))
                answer = call.answer_sdp
            else:
                self.media.offer(call.id, leg.id, sdp, to_tag=CALLER)
                answer = self.media.answer(call.id, leg.id, CALLER, answering(sdp, call.caller_sdp or ""))
        except CarusoError as error:
            log.info("call %s: a re-INVITE refused: %s", call.id, error)
            self.stack.run(dialog.refuse_update)
            return
        self.stack.run(dialog.accept_update, answer)

    def _peer_sdp(self, call: Call) -> str:
        leg = call.legs.get(call.peer)
        if leg is not None and leg.answered_by is not None and leg.answered_by.remote_sdp:
            return leg.answered_by.remote_sdp
        return self.media.placeholder_sdp()

    # -- answering and prompts -----------------------------------------------------------------------

    def answer(self, call: Call) -> None:
        if call.state != "incoming":
            raise Conflict(f"call {call.id} is {call.state}, not incoming")
        self._anchor(call)
        call.answer_sdp = self.media.answer(call.id, CALLER, PLACEHOLDER, self.media.placeholder_sdp())
        call.peer = PLACEHOLDER
        self._answered(call)

    def _anchor(self, call: Call) -> str:
        """Offer the caller's SDP to rtpengine; the SDP for the other side."""
        try:
            offered = self.media.offer(call.id, CALLER, call.caller_sdp or "")
        except CarusoError:
            if not call.media:
                self._end(call, "application", refusal=(488, "Not Acceptable Here"))
            raise
        call.media = True
        return offered

    def _answered(self, call: Call) -> None:
        self.stack.run(call.caller.answer, call.answer_sdp)
        call.state, call.answered = "answered", time.time()
        if "telephone-event" not in (call.caller_sdp or "").lower():
            self.media.detect_inband_dtmf(call.id, CALLER)

    def play(self, call: Call, prompt: dict[str, Any], repeat: int = 1) -> dict[str, Any]:
        if call.state != "answered":
            raise Conflict(f"call {call.id} is {call.state}: answer it first")
        if not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
            raise InvalidInput(f"repeat must be 1 to {MAX_REPEAT}")
        wav = prompt_path(self.prompts, prompt)
        self._stop_prompt(call)
        call.holding = False
        play = self.table.new_id("p")
        return {"play": play, "seconds": self._start_prompt(call, wav, repeat, play)}

    def _start_prompt(self, call: Call, wav: Path, repeat: int, play: str | None) -> float:
        """Play ``wav``; ``play`` names a prompt of the interface (``played`` follows), None
        the hold audio the switchboard plays on its own (it repeats until stopped)."""
        seconds = self.media.play(call.id, CALLER, wav, repeat)
        token = play or object()
        call.prompt = {"play": play} if play else None
        call.prompt_deadline = self.clock.at(seconds, self._post, call, self._prompt_ended, token)
        return seconds

    def _prompt_ended(self, call: Call, token: object) -> None:
        if call.over:
            return
        if call.prompt is not None and call.prompt["play"] == token:
            self.events.emit("played", call.id, play=token, stopped=False)
            call.prompt = None
        elif call.prompt is None and call.holding:
            self._start_prompt(call, self.prompts.tone("hold"), MAX_REPEAT, None)

    def stop_playing(self, call: Call) -> None:
        self._stop_prompt(call)
        call.holding = False

    def _stop_prompt(self, call: Call) -> None:
        if call.prompt_deadline is not None:
            call.prompt_deadline.cancel()
            call.prompt_deadline = None
            try:
                self.media.stop_playing(call.id, CALLER)
            except NotFound:
                pass
        if call.prompt is not None:
            self.events.emit("played", call.id, play=call.prompt["play"], stopped=True)
            call.prompt = None

    def _dtmf(self, call: Call, digit: str) -> None:
        if call.over:
            return
        self.events.emit("dtmf", call.id, digit=digit)
        if digit == "#" and call.recording is not None and call.recording["state"] == "on":
            self._record_stop(call, "key")

    # -- legs -----------------------------------------------------------------------------------

    def ring(self, call: Call, target: Any, caller_id: str | None = None) -> str:
        if call.state not in ("incoming", "answered"):
            raise Conflict(f"call {call.id} is {call.state}")
        if call.bridged is not None:
            raise Conflict(f"call {call.id} is bridged to {call.bridged}: hold it first")
        if not isinstance(target, dict) or len(target) != 1 or not set(target) <= {"agent", "number", "browser"}:
            raise InvalidInput("a ring target is {'agent': ID}, {'browser': ID} or {'number': '+49...'}")
        caller = check_caller_id(caller_id) if caller_id is not None else (call.caller_number or self.trunk.caller_id)
        target = self.choices.route(target) if self.choices is not None else target
        if "browser" in target:
            return self._ring_browser(call, target)
        if "agent" in target:
            hops = [(contact, None) for contact in self.phones.agent_contacts(str(target["agent"]))]
        else:
            hops = [(self.trunk.request_uri(target["number"]), self.trunk)]
        leg = Leg(self.table.new_id("l"), {key: str(value) for key, value in target.items()})
        call.legs[leg.id] = leg
        if not hops:
            self._post(call, self._leg_failed, leg, 480, "Not Registered")
            return leg.id
        offer = self._anchor(call)
        for uri, trunk in hops:
            self.stack.run(self._invite, call, leg, uri, offer, caller, trunk)
        leg.deadline = self.clock.at(self.policy.ring_limit, self._post, call, self._ring_limit, leg)
        return leg.id

    def _ring_browser(self, call: Call, target: dict[str, Any]) -> str:
        leg = Leg(self.table.new_id("l"), {"browser": str(target["browser"])})
        call.legs[leg.id] = leg
        try:
            self.browsers.ring(call, leg)
        except CarusoError:
            call.legs.pop(leg.id, None)
            raise
        leg.deadline = self.clock.at(self.policy.ring_limit, self._post, call, self._ring_limit, leg)
        return leg.id

    def _invite(self, call: Call, leg: Leg | None, uri: str, sdp: str, caller: str, trunk: Trunk | None) -> Dialog:
        """A dialog towards ``uri`` (the SIP loop); through the trunk with its credentials when given."""
        from sippy.SipURL import SipURL

        hop = trunk.next_hop() if trunk is not None else SipURL(uri).getTAddr()
        dialog = Dialog(self.stack.global_config, self._report(call, leg), next_hop=hop,
                        credentials=trunk.credentials() if trunk is not None else None)
        dialog.invite(uri, sdp, caller=caller, caller_name=call.caller_name)
        self.table.index(dialog, call)
        if leg is not None:
            leg.dialogs.append(dialog)
        return dialog

    def _leg_event(self, call: Call, leg: Leg, dialog: Dialog, kind: str, data: dict[str, Any]) -> None:
        if kind == "ringing" and leg.state == "ringing" and not leg.rang:
            leg.rang = True
            self.events.emit("leg_ringing", call.id, leg=leg.id)
        elif kind == "answered":
            self._leg_answered(call, leg, dialog, data["sdp"])
        elif kind == "failed" and leg.state == "ringing":
            leg.failures.append((data["code"], data["reason"]))
            if data["code"] >= 600:                # a global failure ends every fork (RFC 3261 16.7)
                self._hang_up_leg(leg)
            if all(other.over for other in leg.dialogs):
                codes = [code for code, _ in leg.failures]
                code = next((preferred for preferred in LEG_PREFERENCE if preferred in codes), codes[0])
                self._leg_failed(call, leg, code, dict(leg.failures)[code])
        elif kind == "ended" and dialog is leg.answered_by:
            self._leg_ended(call, leg, "agent")

    def _leg_answered(self, call: Call, leg: Leg, dialog: Dialog, sdp: str | None) -> None:
        if leg.state != "ringing" or sdp is None:
            self.stack.run(dialog.hangup)
            if sdp is None and leg.state == "ringing":
                self._hang_up_leg(leg)
                self._leg_failed(call, leg, 488, "No SDP Answer")
            return
        leg.state, leg.answered_by = "answered", dialog
        self._cancel_deadline(leg)
        for other in leg.dialogs:
            if other is not dialog:
                self.stack.run(other.hangup)
        try:
            self._point_caller_at(call, leg)
        except CarusoError as error:
            log.warning("call %s: leg %s answered but its media failed: %s", call.id, leg.id, error)
            self._hang_up_leg(leg)
            self._leg_failed(call, leg, 503, "Media Unavailable")    # never connected, as the caller sees it
            return
        self.events.emit("leg_answered", call.id, leg=leg.id)

    def _point_caller_at(self, call: Call, leg: Leg) -> None:
        """Answer the caller's media with the leg's SDP; the leg is not heard until a bridge."""
        call.answer_sdp = self.media.answer(call.id, CALLER, leg.id, leg.answered_by.remote_sdp)
        call.peer = leg.id
        self.media.block(call.id, leg.id)

    def _leg_failed(self, call: Call, leg: Leg, code: int, reason: str) -> None:
        self._cancel_deadline(leg)
        leg.state = "failed"
        call.legs.pop(leg.id, None)
        self.events.emit("leg_failed", call.id, leg=leg.id, code=code, reason=reason)

    def _leg_ended(self, call: Call, leg: Leg, by: str) -> None:
        bridged = call.bridged == leg.id
        self._hang_up_leg(leg)
        leg.state = "ended"
        call.legs.pop(leg.id, None)
        if bridged:
            call.bridged = None
            if by == "agent" and not self.policy.hold_on_agent_hangup:
                self._end(call, "agent")
                return
            self._start_hold(call)
        self.events.emit("leg_ended", call.id, leg=leg.id, by=by)

    def _hang_up_leg(self, leg: Leg) -> None:
        self._cancel_deadline(leg)
        for dialog in leg.dialogs:
            self.stack.run(dialog.hangup)

    def _ring_limit(self, call: Call, leg: Leg) -> None:
        if leg.state == "ringing" and not call.over:
            self._hang_up_leg(leg)
            self._leg_failed(call, leg, 408, "No Answer")

    @staticmethod
    def _cancel_deadline(holder: Any) -> None:
        if holder.deadline is not None:
            holder.deadline.cancel()
            holder.deadline = None

    def _leg(self, call: Call, leg_id: str) -> Leg:
        leg = call.legs.get(leg_id) if isinstance(leg_id, str) else None
        if leg is None:
            raise NotFound(f"call {call.id} has no leg {leg_id!r:.80}")
        return leg

    def cancel_leg(self, call: Call, leg_id: str) -> None:
        leg = self._leg(call, leg_id)
        if leg.state == "bridged":
            raise Conflict(f"leg {leg.id} is bridged: use hold or hangup")
        if leg.state == "ringing":
            self._hang_up_leg(leg)
            self._leg_failed(call, leg, 487, "Cancelled")
        else:
            self._leg_ended(call, leg, "application")

    def bridge(self, call: Call, leg_id: str) -> None:
        leg = self._leg(call, leg_id)
        if leg.state != "answered":
            raise Conflict(f"leg {leg.id} is {leg.state}, not answered")
        if call.bridged is not None:
            raise Conflict(f"call {call.id} is bridged to {call.bridged} already")
        self._stop_prompt(call)
        call.holding = False
        if call.peer != leg.id:
            self._point_caller_at(call, leg)
        self.media.unblock(call.id, leg.id)
        if call.state == "incoming":
            self._answered(call)
        leg.state, call.bridged = "bridged", leg.id

    def hold_leg(self, call: Call, leg_id: str, on: bool) -> None:
        """Hold a bridged leg (the caller hears hold audio, the leg is not heard) or take it back."""
        leg = self._leg(call, leg_id)
        if leg.state != "bridged":
            raise Conflict(f"leg {leg_id} is {leg.state}, not bridged")
        if on and not call.holding:
            self.media.block(call.id, leg_id)
            self._start_hold(call)
        elif not on and call.holding:
            self.stop_playing(call)
            self.media.unblock(call.id, leg_id)

    def hold(self, call: Call) -> None:
        if call.state != "answered":
            raise Conflict(f"call {call.id} is {call.state}: answer it first")
        if call.bridged is not None:
            self._leg_ended(call, call.legs[call.bridged], "application")
        else:
            self._start_hold(call)

    def _start_hold(self, call: Call) -> None:
        self._stop_prompt(call)
        call.holding = True
        self._start_prompt(call, self.prompts.tone("hold"), MAX_REPEAT, None)

    # -- recordings -----------------------------------------------------------------------------

    def record(self, call: Call, max_seconds: int = 120) -> None:
        if call.state != "answered" or call.bridged is not None:
            raise Conflict(f"call {call.id} must be answered and not bridged to record")
        if call.recording is not None:
            raise Conflict(f"call {call.id} records already")
        if not isinstance(max_seconds, int) or not 1 <= max_seconds <= MAX_RECORD_SECONDS:
            raise InvalidInput(f"max_seconds must be 1 to {MAX_RECORD_SECONDS}")
        self._stop_prompt(call)
        call.holding = False
        beep = self._start_prompt(call, self.prompts.tone("beep"), 1, None)
        call.recording = {"state": "beep", "max": max_seconds}
        call.deadline = self.clock.at(beep, self._post, call, self._record_start)

    def _record_start(self, call: Call) -> None:
        if call.over or call.recording is None or call.recording["state"] != "beep":
            return
        self.media.start_recording(call.id)
        call.recording.update(state="on", started=time.monotonic(), packets=-1, quiet_since=time.monotonic())
        call.deadline = self.clock.at(call.recording["max"], self._post, call, self._record_stop, "limit")
        self.clock.at(1.0, self._post, call, self._record_listen)

    def _record_listen(self, call: Call) -> None:
        """Stop a recording once the caller sent no audio for ``record_silence`` seconds."""
        if call.over or call.recording is None or call.recording["state"] != "on":
            return
        packets = self.media.stats(call.id).get(CALLER, {}).get("sent_packets", 0)
        now = time.monotonic()
        if packets != call.recording["packets"]:
            call.recording.update(packets=packets, quiet_since=now)
        elif now - call.recording["quiet_since"] >= self.policy.record_silence:
            self._record_stop(call, "silence")
            return
        self.clock.at(1.0, self._post, call, self._record_listen)

    def _record_stop(self, call: Call, reason: str) -> None:
        if call.recording is None or call.recording["state"] != "on":
            return
        self._cancel_deadline(call)
        call.recording = None
        path = self.media.stop_recording(call.id, CALLER)
        with wave.open(str(path)) as audio:
            seconds = audio.getnframes() / audio.getframerate()
        self.events.emit("recorded", call.id, recording=path.stem, seconds=round(seconds, 2), reason=reason)

    # -- outbound ---------------------------------------------------------------------------------

    def dial(self, number: str, caller_id: str | None, ring_seconds: int) -> str:
        if not isinstance(ring_seconds, int) or not 1 <= ring_seconds <= MAX_RING_SECONDS:
            raise InvalidInput(f"ring_seconds must be 1 to {MAX_RING_SECONDS}")
        uri = self.trunk.request_uri(number)
        caller = check_caller_id(caller_id) if caller_id is not None else self.trunk.caller_id
        if self.table.count() >= self.policy.max_calls:
            raise Unavailable(f"{self.policy.max_calls} calls are held: no capacity to dial")
        call = Call(self.table.new_id("c"), "outbound", Lane(self.pool), state="dialing", to=number,
                    caller_number=caller)
        self.table.add(call)
        future = call.serial.post(self._dial, call, uri, ring_seconds)
        try:
            future.result(COMMAND_TIMEOUT)
        except concurrent.futures.TimeoutError:
            raise Unavailable(f"dialing {number} did not start within {COMMAND_TIMEOUT:g}s") from None
        return call.id

    def _dial(self, call: Call, uri: str, ring_seconds: int) -> None:
        try:
            offer = self.media.offer(call.id, PLACEHOLDER, self.media.placeholder_sdp())
        except CarusoError:
            self._end(call, "application")
            raise
        call.media = True
        call.caller = self.stack.run(self._invite, call, None, uri, offer, call.caller_number, self.trunk)
        call.deadline = self.clock.at(ring_seconds, self._post, call, self._dial_limit)

    def _dial_event(self, call: Call, kind: str, data: dict[str, Any]) -> None:
        if kind == "answered" and call.state == "dialing":
            self._cancel_deadline(call)
            call.caller_sdp = data["sdp"]
            try:
                self.media.answer(call.id, PLACEHOLDER, CALLER, data["sdp"] or "")
            except CarusoError as error:
                log.warning("call %s: the answer's media failed: %s", call.id, error)
                self._failed(call, 488)
                return
            call.state, call.answered = "answered", time.time()
            self.events.emit("answered", call.id)
            if "telephone-event" not in (call.caller_sdp or "").lower():
                self.media.detect_inband_dtmf(call.id, CALLER)
        elif kind == "failed" and call.state == "dialing":
            self._failed(call, data["code"])
        elif kind == "ended":
            self._end(call, "caller")

    def _dial_limit(self, call: Call) -> None:
        if call.state == "dialing":
            self._failed(call, 487)

    def _failed(self, call: Call, code: int) -> None:
        self._cancel_deadline(call)
        self.events.emit("failed", call.id, result=outcome(code), code=code)
        self._end(call, "caller")

    # -- the end ----------------------------------------------------------------------------------

    def hangup(self, call: Call) -> None:
        self._end(call, "application")

    def _end(self, call: Call, by: str, refusal: tuple[int, str] = (480, "Temporarily Unavailable")) -> None:
        if call.over:
            return
        if call.recording is not None and call.recording["state"] == "on":
            try:
                self._record_stop(call, "hangup")
            except CarusoError as error:
                log.warning("call %s: its recording is lost: %s", call.id, error)
        for holder in (call, *call.legs.values()):
            self._cancel_deadline(holder)
        if call.prompt_deadline is not None:
            call.prompt_deadline.cancel()
        code, reason = (503, "Service Unavailable") if by == "shutdown" else refusal
        for dialog in call.dialogs():
            self.stack.run(dialog.hangup, code, reason)
        call.state = "ended"
        stats: dict[str, Any] = {}
        if call.media:
            try:
                stats = self.media.delete(call.id)
            except CarusoError as error:
                log.warning("call %s: its media was not deleted: %s", call.id, error)
        self.table.ended(call)
        self.events.emit("ended", call.id, by=by, media=stats)

    def end_all(self, by: str) -> None:
        """End every held call (``shutdown``: the instance stops)."""
        futures = []
        for call in self.table.held():
            try:
                futures.append(call.serial.post(self._end, by))
            except Unavailable:
                pass
        concurrent.futures.wait(futures, timeout=COMMAND_TIMEOUT)

    def calls(self) -> list[dict[str, Any]]:
        return [call.summary() for call in sorted(self.table.held(), key=lambda call: call.started)]


def _field(request: Any, name: str) -> str | None:
    return str(request.getHFBody(name)) if request.countHFs(name) else None


def prompt_path(prompts: Any, prompt: Any) -> Path:
    """The WAV of a prompt of the interface: ``{"text": T, "voice": V}``, ``{"file": NAME}``
    or ``{"tone": NAME}``; ConfigError when it cannot be made."""
    if isinstance(prompt, dict) and "text" in prompt and set(prompt) <= {"text", "voice"}:
        return prompts.text(prompt["text"], prompt.get("voice", "en"))
    if isinstance(prompt, dict) and set(prompt) == {"file"}:
        return prompts.file(prompt["file"])
    if isinstance(prompt, dict) and set(prompt) == {"tone"}:
        return prompts.tone(prompt["tone"])
    raise InvalidInput(f"a prompt is {{'text': ...}}, {{'file': NAME}} or {{'tone': 'beep'|'hold'}}, not {prompt!r:.80}")
