"""The ``voice`` channel: real phone calls through the telephony component ``caruso.telephony/1``.

Telephony holds the calls (SIP dialogs, media); this channel decides what happens to
them, through the telephony interface (docs/telephony.md), and keeps the ACD in step:

- an ``incoming`` call is answered and enters the IVR menu of its number (the server's
  ``ivr`` setting); a number without a menu goes straight to the channel's ``queue``, or
  hears ``not_in_service`` and is hung up when there is none. The caller's customer is
  found by ``lookup`` (as the e-mail channel's, on the phone number);
- IVR turns are spoken; keys are passed on one at a time or up to ``#`` as the turn
  says. A caller who keys nothing for ``no_input`` seconds after a turn's prompt hears it
  again, ``no_input_repeats`` times, and then goes to the menu's default (keys collected
  towards a ``#`` are passed on as they are). The outcome routes the call to a queue (hold audio, and the caller's position
  every ``position_every`` seconds), to voicemail (a prompt, a tone, the message recorded
  and left for the queue) or ends it (self-service);
- an offer rings the agent's phone (``phones`` maps an agent to an external number,
  else their registered phone); answered, the offer is accepted and the call bridged;
  declined, busy or unreachable, it is rejected (unreachable agents are set on break:
  they get no more offers); the ACD's withdraws stop the ringing; an agent whose phone
  (a browser leg) is lost while connected is set on break too;
- a transfer to a queue puts the caller on hold again; an agent completing the
  interaction at the desk hangs the call up; the caller or the agent hanging up ends the
  interaction (abandoned while waiting, completed when connected);
- a queue overflowing to voicemail records a message for it.

Threads: one polls telephony's events; one hands them, and the ACD's events
(:meth:`observe`, called under the server's lock, only queues them), to the call they
concern: a call's work runs in order on its lane (:mod:`caruso_core.lanes`), side by side
with other calls' on ``WORKERS`` threads, so that a call waiting on telephony, the scripts
or the storage holds up no other call; the ACD's events of one agent still run in the
order the ACD sent them (the ringing of a call withdrawn from an agent stops before the
next call offered to the agent rings); telephony calls are made outside the server's lock.
The same thread places outbound calls (one at a time) and asks the lane of a call whose
timer is due to act on it. The channel reads telephony's events only while the server's
host takes calls (``context.draining`` is clear: not a standby, not
during a swap); a hot-swap hands the events' cursor and the calls over
(:meth:`export_state`, :meth:`import_state`), so calls stay up whichever instance runs.
The first time it reads, an instance that took over nothing reports the calls telephony
still holds for an earlier run (:meth:`_adopt`): those whose interactions its cold start
took back go on, the others are hung up.
:meth:`dial` places outbound calls for the SIP dialer (:mod:`caruso_comm.dialers.sip`).
"""
from __future__ import annotations

import concurrent.futures
import logging
import queue as queues
import threading
import time
from typing import Any, Callable, Mapping

import attrs

from caruso_core.context import HostContext
from caruso_core.errors import CarusoError, Conflict, NotFound, Unavailable
from caruso_core.lanes import Lane

from caruso_comm.channels.lookup import CustomerLookup
from caruso_comm.events import ABANDON, COMPLETE, NO_ANSWER, OFFER, TRANSFER, VOICEMAIL, WITHDRAW, Event

log = logging.getLogger(__name__)

NAME = "voice"
INTERFACE = "caruso.telephony/1"
PROMPTS = {
    "not_in_service": "Sorry, this number is not in service. Goodbye.",
    "voicemail": "Please leave your message after the tone, then press the hash key.",
    "position": "You are number {position} in the queue. Please hold.",
}
IVR, QUEUE, AGENT, VOICEMAIL_RECORDING, ENDING, OUTBOUND = "ivr", "queue", "agent", "voicemail", "ending", "outbound"
UNREACHABLE = (404, 408, 480)        # no registered phone, no answer from it, not available
POLL = 5.0
WORKERS = 8                          # calls handled side by side


@attrs.define
class VoiceCall:
    """One call as the channel sees it: ``interaction`` (the ACD's id; the call's id for
    inbound calls), ``phase``, the keys collected for an IVR turn, the agents' legs,
    what to do when the current prompt ends."""

    interaction: str
    caller: str | None = None
    customer: str | None = None
    phase: str = IVR
    keys: str | None = None
    collected: str = ""
    legs: dict[str, str] = attrs.field(factory=dict)       # leg -> agent
    bridged: str | None = None
    playing: str | None = None                             # the id of the prompt playing now
    after_prompt: str | None = None                        # "hold", "record:QUEUE", "hang_up"
    announce_at: float | None = None
    prompt: str | None = None                              # the IVR turn's prompt, to ask again
    input_due: float | None = None                         # when the caller's silence counts
    repeats: int = 0                                       # times the prompt was asked again


class VoiceChannel:
    """Configuration: ``telephony`` (the interface or name of the telephony service),
    ``queue`` (for numbers without an IVR menu), ``lookup``, ``phones`` (agent -> external
    number), ``position_every`` (seconds; 0: never), ``voicemail_seconds``, ``no_input``
    (seconds; 0: wait for keys as long as the caller stays), ``no_input_repeats``,
    ``prompts`` (texts replacing :data:`PROMPTS`)."""

    def __init__(self, server: Any, context: HostContext, telephony: str = INTERFACE, queue: str | None = None,
                 lookup: Mapping[str, str] | None = None, phones: Mapping[str, str] | None = None,
                 position_every: float = 30.0, voicemail_seconds: int = 120, no_input: float = 8.0,
                 no_input_repeats: int = 1, prompts: Mapping[str, str] | None = None) -> None:
        self.server, self.context = server, context
        self._telephony_key = telephony
        self._telephony: Any = None
        self._queue, self._phones = queue, dict(phones or {})
        self._position_every, self._voicemail_seconds = float(position_every), int(voicemail_seconds)
        self._no_input, self._no_input_repeats = float(no_input), int(no_input_repeats)
        self._prompts = {**PROMPTS, **(prompts or {})}
        self._customer = CustomerLookup(context, lookup, field="phone", channel=NAME)
        self._calls: dict[str, VoiceCall] = {}                 # telephony call id -> call
        self._of_interaction: dict[str, str] = {}              # interaction -> telephony call id
        self._dialing: dict[str, Callable[[str], None]] = {}   # interaction -> report(result)
        self._work: queues.Queue[tuple[str, Any]] = queues.Queue()
        self._pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="voice-call")
        self._lanes: dict[str, Lane] = {}                      # telephony call id -> its work in order
        self._pending: set[concurrent.futures.Future[Any]] = set()   # work posted to lanes, not done
        self._of_agent: dict[str, concurrent.futures.Future[Any]] = {}   # an agent's latest ACD event's work
        self._due_posted: set[str] = set()                     # calls whose timer work waits in their lane
        self._cursor: int | None = None
        self._epoch: str | None = None
        self._stopping, self._idle, self._exported = threading.Event(), threading.Event(), threading.Event()
        self._adopted, self._held = False, False
        self._reader = threading.Thread(target=self._poll, name="voice-events", daemon=True)
        self._worker = threading.Thread(target=self._act, name="voice-calls", daemon=True)

    # -- the channel contract ----------------------------------------------------------------

    def start(self) -> None:
        self._reader.start()
        self._worker.start()

    def stop(self) -> None:
        """End the worker. The reader is not waited for: a long poll in flight ends within
        ``POLL`` seconds, and what it read is dropped (nothing acts on it any more)."""
        self._stopping.set()
        self._work.put(("stop", None))
        self._worker.join(timeout=POLL + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def info(self) -> dict[str, Any]:
        return {"telephony": self._telephony_key, "calls": len(self._calls), "cursor": self._cursor}

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        raise Conflict("a voice call takes no text messages")

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        return []

    def observe(self, event: Event) -> None:
        """An event of the ACD (under the server's lock): queued for the worker if it
        concerns a call of this channel."""
        if event.interaction in self._of_interaction:
            self._work.put(("acd", event))

    # -- hand-over -----------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Stop reading events (until the host takes calls again, if the swap fails), finish
        the work queued, and hand over the cursor and the calls."""
        self._exported.set()
        self._work.put(("idle", None))
        self._idle.wait(POLL + 5)
        self._idle.clear()
        return {"cursor": self._cursor, "epoch": self._epoch,
                "calls": {call_id: attrs.asdict(call) for call_id, call in list(self._calls.items())}}

    def import_state(self, state: Mapping[str, Any]) -> None:
        """Take over the calls and the cursor of a predecessor, then act."""
        self._cursor, self._epoch = state.get("cursor"), state.get("epoch")
        self._calls = {call_id: VoiceCall(**data) for call_id, data in state.get("calls", {}).items()}
        self._of_interaction = {call.interaction: call_id for call_id, call in self._calls.items()}
        self._lanes.clear()
        self._due_posted.clear()
        self._adopted = True
        self._exported.clear()
        self._work.put(("wake", None))          # timers of the calls taken over may be due

    # -- outbound calls for the SIP dialer ----------------------------------------------------

    def dial(self, interaction: str, number: str, report: Callable[[str], None]) -> None:
        """Place a call to ``number`` for the campaign call ``interaction``; ``report(result)``
        follows once, from the channel's worker (see :mod:`caruso_comm.dialers.sip`)."""
        self._work.put(("dial", (interaction, number, report)))

    def expect(self, interaction: str, report: Callable[[str], None]) -> None:
        """Report the result of the call placed for ``interaction`` (by a predecessor, in a
        hot-swap) to ``report``."""
        self._dialing[interaction] = report

    # -- threads ---------------------------------------------------------------------------

    def _reading(self) -> bool:
        """Whether to read events now; a host taking calls again after a hold ends an export."""
        if self.context.draining.is_set():
            self._held = True
            return False
        if self._held:
            self._held = False
            self._exported.clear()
        return not self._exported.is_set()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            if not self._reading():
                self._stopping.wait(0.25)
                continue
            if not self._adopted:
                self._adopted = True
                self._work.put(("adopt", None))
            try:
                batch = self._telephony_service().events(self._cursor, POLL, self._epoch)
            except CarusoError as error:
                log.warning("no events from telephony: %s", error)
                self._stopping.wait(1.0)
                continue
            if self._stopping.is_set():
                return
            if not self._reading():
                continue          # handed over meanwhile: the successor reads these
            if batch["missed"]:
                log.warning("telephony events were missed; calls may be out of step")
            for event in batch["events"]:
                self._work.put(("telephony", event))
            self._cursor, self._epoch = batch["next"], batch["epoch"]

    def _act(self) -> None:
        """Hand each item to its call's lane; place calls and adopt them here (a new call's
        events are dispatched after it is followed); ``idle`` once every lane is done. Only
        this thread adds and removes lanes."""
        while True:
            try:
                kind, item = self._work.get(timeout=self._until_due())
            except queues.Empty:
                kind, item = "due", None
            if kind == "stop":
                return
            try:
                if kind == "idle":
                    self._drain()
                    self._idle.set()
                    continue
                if kind in ("telephony", "acd"):
                    self._dispatch(kind, item)
                elif kind in ("dial", "adopt"):
                    self._handle(kind, item)
                elif kind == "forget":
                    self._lanes.pop(item, None)
                    self._due_posted.discard(item)
                if kind == "due" or self._until_due() == 0.0:      # due work waits for no quiet moment
                    self._post_due()
            except Exception:
                log.exception("voice: dispatching %s %r failed", kind, item)

    def _dispatch(self, kind: str, item: Any) -> None:
        """To the call's lane; an ACD event naming an agent after the work of the agent's
        previous one (whichever call that was about)."""
        call_id = self._of_interaction.get(item.interaction or "") if kind == "acd" else item.get("call")
        if call_id is None or (call_id not in self._lanes and call_id not in self._calls
                               and not (kind == "telephony" and item.get("event") == "incoming")):
            return                               # a call this channel does not follow (any more)
        agent = item.agent if kind == "acd" else None
        future = self._post(call_id, kind, item, self._of_agent.get(agent) if agent else None)
        if agent and future is not None:
            self._of_agent[agent] = future

    def _post(self, call_id: str, kind: str, item: Any,
              after: concurrent.futures.Future[Any] | None = None) -> concurrent.futures.Future[Any] | None:
        """Post to the call's lane (made if need be); None when it takes no more (logged)."""
        lane = self._lanes.get(call_id)
        if lane is None:
            lane = self._lanes[call_id] = Lane(self._pool)
        try:
            future = lane.post(self._run, kind, item, after=after)
        except Unavailable as error:             # stopping, or a call flooded with events
            log.warning("voice: %s for %s: %s", kind, call_id, error)
            return None
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def _run(self, kind: str, item: Any) -> None:
        """A task of a call's lane; the dispatcher then looks at the timers it may have set."""
        if not self._stopping.is_set():
            self._handle(kind, item)
            self._work.put(("wake", None))

    def _drain(self) -> None:
        """Wait until the work posted to lanes is done (``POLL`` seconds at most)."""
        deadline = time.monotonic() + POLL
        while self._pending and (left := deadline - time.monotonic()) > 0:
            concurrent.futures.wait(list(self._pending), timeout=left)

    def _handle(self, kind: str, item: Any) -> None:
        try:
            {"telephony": self._on_telephony, "acd": self._on_acd, "dial": self._place,
             "adopt": self._adopt, "due": self._due}[kind](item)
        except CarusoError as error:
            log.warning("voice: %s: %s", kind, error)
        except Exception:
            log.exception("voice: handling %s %r failed", kind, item)

    # -- telephony's events ----------------------------------------------------------------

    def _on_telephony(self, event: Mapping[str, Any]) -> None:
        call_id = event.get("call")
        if event["event"] == "incoming":
            self._incoming(call_id, event)
            return
        call = self._calls.get(call_id)
        if call is None:
            return
        handler = getattr(self, "_on_" + event["event"], None)
        if handler is not None:
            handler(call_id, call, event)

    def _incoming(self, call_id: str, event: Mapping[str, Any]) -> None:
        caller = event.get("caller")
        call = VoiceCall(call_id, caller, self._customer(caller))
        self._track(call_id, call)
        telephony = self._telephony_service()
        telephony.answer(call_id)
        try:
            turn = self.server.ivr_call(call_id, to=event.get("to"), caller=caller, customer=call.customer)
        except NotFound:
            if self._queue is None:
                self._say(call_id, call, self._prompts["not_in_service"], then="hang_up")
                return
            self.server.arrive(self._queue, id=call_id, channel=NAME, from_=caller, to=event.get("to"),
                               customer=call.customer)
            self._hold(call_id, call)
            return
        self._turn(call_id, call, turn)

    def _turn(self, call_id: str, call: VoiceCall, turn: Mapping[str, Any]) -> None:
        call.keys, call.collected, call.input_due = turn.get("keys"), "", None
        if not turn["done"]:
            call.prompt, call.repeats = turn["prompt"], 0
            self._say(call_id, call, turn["prompt"])
            return
        target = turn["target"] or ""
        if target.startswith("voicemail:"):
            call.phase = VOICEMAIL_RECORDING
            self._say(call_id, call, " ".join(filter(None, [turn["prompt"], self._prompts["voicemail"]])),
                      then="record:" + target.split(":", 1)[1])
        elif target == "self_service":
            self._say(call_id, call, turn["prompt"] or "Goodbye.", then="hang_up")
        else:
            call.phase = QUEUE
            if turn["prompt"]:
                self._say(call_id, call, turn["prompt"], then="hold")
            else:
                self._hold(call_id, call)

    def _on_dtmf(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        if call.phase != IVR or call.keys is None:
            return
        call.input_due = None
        digit = event["digit"]
        if call.keys == "until_hash" and not (digit == "*" and not call.collected) and digit != "#":
            if not call.collected:
                self._telephony_service().stop_playing(call_id)      # the caller keys: stop talking
            call.collected += digit
            return
        keys, call.collected, call.keys = call.collected + digit, "", None
        self._turn(call_id, call, self.server.ivr_press(call_id, keys))

    def _on_played(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        if event.get("play") != call.playing or event.get("stopped"):
            return                               # an earlier prompt, replaced or cut short
        then, call.after_prompt = call.after_prompt, None
        if then is None and call.phase == IVR and call.keys is not None and self._no_input > 0:
            call.input_due = time.monotonic() + self._no_input
        elif then == "hold":
            self._hold(call_id, call)
        elif then == "hang_up":
            self._telephony_service().hangup(call_id)
        elif then and then.startswith("record:"):
            call.after_prompt = then             # kept until the recording arrives
            self._telephony_service().record(call_id, self._voicemail_seconds)

    def _on_recorded(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        queue = (call.after_prompt or "record:")[len("record:"):]
        call.after_prompt = None
        content = self._telephony_service().recording(event["recording"])
        if call.interaction in self._of_interaction and call.phase == VOICEMAIL_RECORDING and queue:
            try:
                self.server.ivr_message(call.interaction, content)
            except (NotFound, Conflict):          # the ACD sent it to voicemail: no IVR call
                self.server.leave_voicemail(queue, content, caller=call.caller, customer=call.customer)
        self._telephony_service().hangup(call_id)

    def _on_leg_answered(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        leg = event["leg"]
        agent = call.legs.get(leg)
        if agent is None:
            return
        try:
            self.server.accept(agent, call.interaction)
        except (NotFound, Conflict):
            call.legs.pop(leg, None)
            self._telephony_service().cancel_leg(call_id, leg)
            return
        telephony = self._telephony_service()
        for other in [other for other in call.legs if other != leg]:
            telephony.cancel_leg(call_id, other)
        call.legs = {leg: agent}
        call.phase, call.bridged, call.announce_at = AGENT, leg, None
        try:
            telephony.bridge(call_id, leg)
        except (NotFound, Conflict) as gone:   # the agent hung up before the bridge: as after it
            log.info("call %s: leg %s of %s ended before the bridge (%s): hanging up", call_id, leg, agent, gone)
            telephony.hangup(call_id)          # (ended: the interaction completes)

    def _on_leg_failed(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        agent = call.legs.pop(event["leg"], None)
        if agent is None:
            return
        try:
            self.server.reject(agent, call.interaction)
            if event.get("code") in UNREACHABLE:
                self.server.set_status(agent, "break", f"phone not reachable ({event.get('reason')})")
        except (NotFound, Conflict):
            pass                                 # the offer ended meanwhile

    def _on_leg_lost(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        """A connected agent's browser lost its page or media: the agent is set on break (the
        call ends as the agent's hang-up); a ringing leg's ``leg_failed`` follows instead."""
        if event["leg"] != call.bridged:
            return
        try:
            self.server.set_status(call.legs[call.bridged], "break", f"phone lost ({event.get('reason')})")
        except (NotFound, Conflict):
            pass                                 # logged out meanwhile

    def _on_answered(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        self._hold(call_id, call)              # the customer waits for the agent the ACD finds
        report = self._dialing.pop(call.interaction, None)
        if report is not None:
            report("answered")

    def _on_failed(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        self._forget(call_id)
        report = self._dialing.pop(call.interaction, None)
        if report is not None:
            report(event.get("result", "failed"))

    def _on_ended(self, call_id: str, call: VoiceCall, event: Mapping[str, Any]) -> None:
        self._forget(call_id)
        try:
            if call.phase == IVR:
                self.server.ivr_hang_up(call.interaction)
            elif call.phase == QUEUE:
                self.server.abandon(call.interaction)
            elif call.phase == AGENT and call.bridged is not None:
                self.server.complete(call.legs[call.bridged], call.interaction, "")
            elif call.phase == VOICEMAIL_RECORDING:
                self.server.ivr_hang_up(call.interaction)
        except (NotFound, Conflict):
            pass                                 # the interaction ended already (completed at the desk)

    # -- the ACD's events ------------------------------------------------------------------

    def _on_acd(self, event: Event) -> None:
        call_id = self._of_interaction.get(event.interaction or "")
        call = self._calls.get(call_id or "")
        if call is None:
            return
        telephony = self._telephony_service()
        if event.event == OFFER:
            number = self._phones.get(event.agent or "")
            target = {"number": number} if number else {"agent": event.agent}
            call.legs[telephony.ring(call_id, target, call.caller)] = event.agent
        elif event.event in (WITHDRAW, NO_ANSWER):
            for leg, agent in list(call.legs.items()):
                if agent == event.agent and leg != call.bridged:
                    call.legs.pop(leg)
                    telephony.cancel_leg(call_id, leg)
        elif event.event == TRANSFER and call.phase == AGENT:
            call.legs, call.bridged = {}, None
            telephony.hold(call_id)
            call.phase = QUEUE
            self._schedule(call)
        elif event.event == COMPLETE and call.phase == AGENT:
            call.phase = ENDING
            telephony.hangup(call_id)
        elif event.event == ABANDON and call.phase in (QUEUE, OUTBOUND):
            call.phase = ENDING                  # the ACD gave up on it (a campaign's abandon cap)
            telephony.hangup(call_id)
        elif event.event == VOICEMAIL:
            call.phase = VOICEMAIL_RECORDING
            self._say(call_id, call, self._prompts["voicemail"], then="record:" + (event.queue or ""))

    # -- helpers ---------------------------------------------------------------------------

    def _say(self, call_id: str, call: VoiceCall, text: str, then: str | None = None) -> None:
        call.after_prompt = then
        call.playing = self._telephony_service().play(call_id, {"text": text})["play"]

    def _hold(self, call_id: str, call: VoiceCall) -> None:
        call.phase, call.after_prompt = QUEUE, None
        call.playing = self._telephony_service().play(call_id, {"tone": "hold"}, 1000)["play"]
        self._schedule(call)

    def _schedule(self, call: VoiceCall) -> None:
        call.announce_at = time.monotonic() + self._position_every if self._position_every > 0 else None

    def _until_due(self) -> float:
        due = [moment for call_id, call in list(self._calls.items()) if call_id not in self._due_posted
               for moment in (call.announce_at, call.input_due) if moment is not None]
        return max(min(due, default=time.monotonic() + POLL) - time.monotonic(), 0.0)

    def _post_due(self) -> None:
        """Ask the lane of each call with a timer due to act on it (once until it has)."""
        now = time.monotonic()
        for call_id, call in list(self._calls.items()):
            if call_id not in self._due_posted and any(moment is not None and moment <= now
                                                       for moment in (call.input_due, call.announce_at)):
                self._due_posted.add(call_id)
                if self._post(call_id, "due", call_id) is None:
                    self._due_posted.discard(call_id)

    def _due(self, call_id: str) -> None:
        try:
            call, now = self._calls.get(call_id), time.monotonic()
            if call is None:
                return
            if call.input_due is not None and call.input_due <= now:
                self._silent(call_id, call)
            if call.announce_at is not None and call.announce_at <= now:
                self._announce(call_id, call)
        finally:
            self._due_posted.discard(call_id)

    def _silent(self, call_id: str, call: VoiceCall) -> None:
        """The caller keyed nothing after the turn's prompt: asked again, then the keys
        collected so far are passed on, or the call goes to the menu's default."""
        call.input_due = None
        try:
            if call.collected:
                keys, call.collected, call.keys = call.collected, "", None
                self._turn(call_id, call, self.server.ivr_press(call.interaction, keys))
            elif call.repeats < self._no_input_repeats:
                call.repeats += 1
                self._say(call_id, call, call.prompt or "")
            else:
                call.keys = None
                self._turn(call_id, call, self.server.ivr_no_input(call.interaction))
        except (NotFound, Conflict):
            pass                                 # hung up or routed meanwhile

    def _announce(self, call_id: str, call: VoiceCall) -> None:
        self._schedule(call)
        try:
            position = self.server.interaction(call.interaction).get("position")
        except NotFound:
            return
        if position:
            self._say(call_id, call, self._prompts["position"].format(position=position), then="hold")

    def _place(self, item: tuple[str, str, Callable[[str], None]]) -> None:
        interaction, number, report = item
        try:
            call_id = self._telephony_service().dial(number)
        except CarusoError as error:
            log.warning("dialing %s failed: %s", number, error)
            report("failed")
            return
        self._track(call_id, VoiceCall(interaction, number, phase=OUTBOUND))
        self._dialing[interaction] = report

    def _adopt(self, _: Any) -> None:
        """Calls telephony holds that this server does not know were left by an earlier run:
        the channel reports them (``server.reclaim``, the channel contract of
        :mod:`caruso_comm.channel`). Those whose interactions go on are followed again: a
        waiting caller hears hold audio again (legs still ringing stop; the agents the ACD
        offers it to from now on, or did already, are rung), a connected one stays bridged to
        its agent; the others end."""
        telephony = self._telephony_service()
        stale = {call["call"]: call for call in telephony.calls() if call["call"] not in self._calls}
        going_on = {interaction["id"]: interaction for interaction in self.server.reclaim(NAME, sorted(stale))}
        for call_id, held in stale.items():
            interaction = going_on.get(call_id)
            if interaction is None:
                telephony.hangup(call_id)
                continue
            call = VoiceCall(call_id, held.get("caller"), interaction["customer"])
            self._track(call_id, call)
            bridged = held.get("bridged") if interaction["state"] == "connected" else None
            for leg in held.get("legs", ()):
                if leg["leg"] != bridged:
                    telephony.cancel_leg(call_id, leg["leg"])
            if interaction["state"] == "connected":
                call.phase, call.bridged = AGENT, bridged
                call.legs = {bridged: interaction["agent"]} if bridged else {}
            else:
                self._hold(call_id, call)
                for agent in interaction["offers"]:      # offered before the channel followed the call
                    self._on_acd(Event(time.time(), OFFER, call_id, interaction["queue"], agent))

    def _track(self, call_id: str, call: VoiceCall) -> None:
        self._calls[call_id] = call
        self._of_interaction[call.interaction] = call_id

    def _forget(self, call_id: str) -> None:
        """Follow the call no more; work its lane holds still runs, and finds no call (the
        dispatcher drops the lane)."""
        call = self._calls.pop(call_id, None)
        self._work.put(("forget", call_id))
        if call is not None:
            self._of_interaction.pop(call.interaction, None)

    def _telephony_service(self) -> Any:
        if self._telephony is None:
            self._telephony = self.context.client.get(self._telephony_key)
        return self._telephony
