"""The telephony service ``caruso.telephony/1``: SIP dialogs and media sessions of real calls.

Lifecycle (docs/architecture.md, "The service contract"):

- ``start()`` opens the database and makes every configured prompt (a prompt that cannot
  be made fails the start); it binds nothing, so a standby costs no port.
- ``cold_start()`` goes live: rtpengine (the first half of the RTP range) and SIP on the
  public port (UDP, and TCP on the same port).
- A drain swap (:mod:`caruso_telephony.handover`): the old instance's ``export_state()``
  hands on the event numbering, its calls' ids, its browser legs and a token, and stops
  taking new dialogs (its agents' pages ask the new instance from now on); the new
  instance's ``import_state()`` goes live on the handover port (the other half of the
  RTP range) and binds the public port as soon as it is free. The old
  instance's ``deactivate()`` starts its link to the new one; it finishes its calls,
  relays new dialogs, then stops SIP and rtpengine; its ``stop()`` waits for that (at
  most ``drain_limit`` seconds, then it hangs up). ``resume()`` takes new dialogs again.
- ``stop()`` of an active instance hangs up every call (``ended`` by ``shutdown``), then
  stops SIP and rtpengine: no process, thread or socket of it is left.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from caruso_core import HostContext, remote, service
from caruso_core.errors import Conflict, ConfigError, InvalidInput, NotFound, Unavailable
from caruso_core.privatefiles import create_folder
from caruso_telephony.calls import CallTable
from caruso_telephony.events import EventLog
from caruso_telephony.handover import Predecessors, Successor, new_token
from caruso_telephony.media import Media, MediaSettings
from caruso_telephony.phonechoice import PhoneChoices
from caruso_telephony.phones import Phones
from caruso_telephony.prompts import Prompts
from caruso_telephony.settings import settings
from caruso_telephony.sip.registrar import Registrar
from caruso_telephony.sip.relay import Relay
from caruso_telephony.sip.router import Router
from caruso_telephony.sip.stack import SipStack
from caruso_telephony.sip.tcp import TcpTransport
from caruso_telephony.switchboard import Switchboard, prompt_path

CALL_COMMANDS = {"answer", "play", "stop_playing", "ring", "cancel_leg", "bridge", "hold", "hold_leg", "record",
                 "hangup"}
BROWSER_COMMANDS = {"browser_answer": "answer", "browser_end": "end", "browser_hold": "hold"}
RECORDING = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_RECORDING_BYTES = 64 * 1024 * 1024
QUIET_GRACE = 5.0            # seconds a stopping instance gives its BYEs to be answered


@service(name="telephony", interface="caruso.telephony/1", version="1.0.0")
class TelephonyService:
    """Real calls through a SIP trunk and agents' SIP phones; see docs/telephony.md."""

    def __init__(self, context: HostContext | None = None, **config: Any) -> None:
        self.settings = settings(**config)
        self.context = context
        self.log = context.log if context is not None else logging.getLogger("caruso.telephony")
        self.draining = context.draining if context is not None else threading.Event()
        self.event_log = EventLog(self.settings.events, self.draining)
        self.table = CallTable()
        self.predecessors = Predecessors(self._adopt_event, self._sip_address, self.draining, self._take_public_port)
        self.phonebook: Phones | None = None
        self.choices: PhoneChoices | None = None
        self.prompts: Prompts | None = None
        self.stack: SipStack | None = None
        self.media: Media | None = None
        self.switchboard: Switchboard | None = None
        self.relay: Relay | None = None
        self.rtp_half = 0
        self.public = False
        self.token: str | None = None
        self.successor: Successor | None = None
        self.drained = threading.Event()
        self.drainer: threading.Thread | None = None
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.phonebook = Phones(self.settings.db, self.settings.realm, self.settings.registration.get("contacts", 5))
        self.choices = PhoneChoices(self.phonebook.engine)
        self.prompts = Prompts(create_folder(self.settings.folder / "prompts"), self.settings.prompt_files)
        self.prompts.check(self.settings.prompt_texts)
        for name in self.settings.prompt_files:
            self.prompts.file(name)
        for tone in ("beep", "hold"):
            self.prompts.tone(tone)

    def cold_start(self) -> None:
        self._go_live(self.settings.udp_port, 0)
        self.public = True

    def export_state(self) -> dict[str, Any]:
        if self.switchboard is None:
            raise Unavailable("this telephony instance is not live: it has nothing to hand over")
        self.relay.close()
        self.token = new_token()
        exported = self.event_log.export()
        self.switchboard.browsers.pages_elsewhere()
        return {"events": {**exported, "events": exported["events"][-1000:]}, "token": self.token,
                "calls": [call.id for call in self.table.held()], "summaries": self.switchboard.calls(),
                "browsers": self.switchboard.browsers.snapshot(),
                "predecessors": self.predecessors.export(), "rtp_half": self.rtp_half}

    def resume(self) -> None:
        if self.relay is not None:
            self.relay.open()
        if self.switchboard is not None:
            self.switchboard.browsers.pages_here()
        self.token = None

    def import_state(self, state: dict[str, Any]) -> None:
        if self.switchboard is not None:
            raise Conflict("this instance still drains its own calls: swap back once it has finished")
        self.event_log.adopt(state["events"])
        self.predecessors.adopt(state)          # its own link: token, calls, summaries, browsers
        for link in state["predecessors"]:
            self.predecessors.adopt(link)
        self._go_live(self.settings.handover_port, 1 - int(state["rtp_half"]))
        self.switchboard.clock.every(1.0, self._watch_predecessors)

    def deactivate(self) -> None:
        self.drained.clear()
        self.drainer = threading.Thread(target=self._drain, name="telephony-drain", daemon=True)
        self.drainer.start()

    def stop(self) -> None:
        if self.drainer is not None:
            if not self.drained.wait(self.settings.drain_limit):
                self.log.warning("calls still held after %ss of draining: hanging up", self.settings.drain_limit)
        if self.successor is not None:
            self.successor.stop()
        self._go_quiet()
        if self.phonebook is not None:
            self.phonebook.close()

    def health(self) -> dict[str, Any]:
        live = self.switchboard is not None
        answer: dict[str, Any] = {"status": "ok", "live": live, "public": self.public,
                                  "draining": self.token is not None, "calls": self.table.count(),
                                  "predecessors": len(self.predecessors), "events_waiting": self.event_log.waiting}
        if live:
            answer["sip"] = {"address": self.settings.address, "ports": self.stack.ports(),
                             "tcp": self.settings.tcp, "transactions": self.stack.transactions()}
            answer["media"] = self.media.health()
            if answer["media"]["status"] != "ok":
                answer["status"] = "degraded"
        return answer

    # -- live and quiet ------------------------------------------------------------------------

    def _go_live(self, port: int, rtp_half: int) -> None:
        folder = self.settings.folder
        media = self.settings.media
        self.rtp_half = rtp_half
        self.stack = SipStack(self.settings.address, log=self.log.getChild("sip"), limits=self.settings.limits,
                              max_transactions=self.settings.max_transactions)
        self.media = Media(MediaSettings(recordings=folder / "recordings", prompts=folder / "prompts",
                                         rtp_ports=self.settings.rtp_half(rtp_half),
                                         **{key: value for key, value in media.items() if key != "rtp_ports"}),
                           on_dtmf=self._on_dtmf, on_timeout=self._on_timeout, log=self.log.getChild("media"))
        self.switchboard = Switchboard(stack=self.stack, media=self.media, prompts=self.prompts, phones=self.phonebook,
                                       trunk=self.settings.trunk, events=self.event_log, table=self.table,
                                       policy=self.settings.policy, choices=self.choices,
                                       browser=self.settings.browser)
        registration = {key: value for key, value in self.settings.registration.items() if key != "contacts"}
        router = Router(Registrar(self.phonebook, **registration).handle, self.switchboard.incoming)
        self.relay = Relay(self.stack, lambda call_id: self.table.by_dialog(call_id) is not None)
        self.stack.intercept = lambda *message: self.relay.intercept(*message) or self.switchboard.intercept(*message)
        try:
            self.media.start()
            self.stack.start(port, router.route, TcpTransport if self.settings.tcp else None)
        except OSError as error:
            self._go_quiet()
            raise ConfigError(f"telephony cannot listen on {self.settings.address}:{port}: {error.strerror}") from None
        except Exception:
            self._go_quiet()
            raise
        self.log.info("telephony live on %s:%s (RTP %s-%s)", self.settings.address, self.stack.port,
                      *self.settings.rtp_half(rtp_half))

    def _go_quiet(self) -> None:
        """Hang up what is left, then stop SIP, the call workers and rtpengine."""
        with self._lock:
            if self.switchboard is not None:
                self.switchboard.end_all("shutdown")
                self._await_transactions()
            for part in (self.stack, self.switchboard, self.media):
                if part is not None:
                    part.close() if part is self.switchboard else part.stop()
            self.stack = self.switchboard = self.media = self.relay = None
            self.public = False

    def _await_transactions(self) -> None:
        deadline = time.monotonic() + QUIET_GRACE
        while self.stack.transactions() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _drain(self) -> None:
        """The old instance after a swap: hand over until its calls ended, then go quiet."""
        if self.switchboard is not None and self.token is not None and self.context is not None:
            relay = self.relay
            self.successor = Successor(
                active=lambda: self.context.client.get(self.context.name), token=self.token,
                after=self.event_log.last, drained=self._finished, pending=self._pending,
                summaries=lambda: self.switchboard.calls() if self.switchboard else [],
                run=self._run_handed_over, forward_to=lambda sip: relay.stack.post(relay.forward_to, sip),
                browsers=lambda: self.switchboard.browsers.snapshot() if self.switchboard else [],
                pages_seen=self._pages_seen)
            self.successor.start()
            self.successor.finished.wait()
        else:
            while self.switchboard is not None and not self._finished():
                self.drained.wait(1.0)
        self._go_quiet()
        self.drained.set()

    def _finished(self) -> bool:
        return self.table.count() == 0 and (self.stack is None or self.stack.transactions() == 0)

    def _pending(self, after: int) -> tuple[list[dict[str, Any]], int]:
        read = self.event_log.read(after, 0.0)
        return [{key: value for key, value in event.items() if key != "seq"} for event in read["events"]], read["next"]

    def _run_handed_over(self, method: str, args: list[Any]) -> Any:
        if method not in CALL_COMMANDS and method not in BROWSER_COMMANDS:
            raise InvalidInput(f"{method} is not a call command")
        return self._local(method, *args)

    def _pages_seen(self, ages: dict[str, float]) -> None:
        switchboard = self.switchboard
        if switchboard is not None:
            switchboard.browsers.pages_seen(ages)

    def _watch_predecessors(self) -> None:
        self.predecessors.give_up_silent()
        if not self.public and len(self.predecessors) == 0:
            self._take_public_port()

    def _take_public_port(self) -> None:
        """Bind the public port once no predecessor holds it (it may still be closing)."""
        with self._lock:
            if self.public or self.stack is None:
                return
            try:
                self.stack.listen(self.settings.udp_port)
            except OSError:
                return
            self.public = True
            self.log.info("telephony took over the public port %s", self.settings.udp_port)

    def _sip_address(self) -> dict[str, Any]:
        stack = self.stack
        if stack is None:
            raise Unavailable("this telephony instance is not live")
        port = stack.ports()[-1]
        addresses = {"udp": [self.settings.address, port]}
        if self.settings.tcp:
            addresses["tcp"] = [self.settings.address, port]
        return addresses

    def _adopt_event(self, event: dict[str, Any]) -> None:
        fields = {key: value for key, value in event.items() if key not in ("seq", "event", "call")}
        self.event_log.emit(str(event["event"]), str(event["call"]), **fields)

    def _on_dtmf(self, call: str, tag: str, digit: str) -> None:
        if self.switchboard is not None:
            self.switchboard.on_dtmf(call, tag, digit)

    def _on_timeout(self, call: str) -> None:
        if self.switchboard is not None:
            self.switchboard.on_timeout(call)

    # -- the interface ------------------------------------------------------------------------

    def _live(self) -> Switchboard:
        switchboard = self.switchboard
        if switchboard is None:
            raise Unavailable("this telephony instance is not live")
        return switchboard

    def _local(self, method: str, call: str, *args: Any) -> Any:
        switchboard = self._live()
        if method in BROWSER_COMMANDS:
            return switchboard.command(call, getattr(switchboard.browsers, BROWSER_COMMANDS[method]), *args)
        return switchboard.command(call, getattr(switchboard, method), *args)

    def _on_call(self, method: str, call: str, *args: Any) -> Any:
        """Run a call command (of ``CALL_COMMANDS`` or ``BROWSER_COMMANDS``) where the call is:
        on a predecessor that still holds it, else here."""
        link = self.predecessors.owner(call) if isinstance(call, str) else None
        if link is not None:
            return self.predecessors.relay(link, method, [call, *args])
        return self._local(method, call, *args)

    @remote
    def events(self, since: int | None = None, timeout: float = 5.0, epoch: str | None = None) -> dict[str, Any]:
        """Events after ``since`` (None: after now), waiting up to ``timeout`` s (at most 30)."""
        return self.event_log.read(since, timeout, epoch)

    @remote
    def answer(self, call: str) -> None:
        self._on_call("answer", call)

    @remote
    def play(self, call: str, prompt: dict[str, Any], repeat: int = 1) -> dict[str, Any]:
        """Play a prompt to the caller: ``{"play": ID, "seconds": LENGTH}`` (``played`` with
        that id follows)."""
        return self._on_call("play", call, prompt, repeat)

    @remote
    def stop_playing(self, call: str) -> None:
        self._on_call("stop_playing", call)

    @remote
    def ring(self, call: str, target: dict[str, str], caller_id: str | None = None) -> str:
        """Ring ``{"agent": ID}`` or ``{"number": N}``; the new leg's id."""
        return self._on_call("ring", call, target, caller_id)

    @remote
    def cancel_leg(self, call: str, leg: str) -> None:
        self._on_call("cancel_leg", call, leg)

    @remote
    def bridge(self, call: str, leg: str) -> None:
        self._on_call("bridge", call, leg)

    @remote
    def hold(self, call: str) -> None:
        self._on_call("hold", call)

    @remote
    def hold_leg(self, call: str, leg: str, on: bool) -> None:
        """Hold a bridged leg (hold audio for the caller, the leg not heard) or take it back."""
        self._on_call("hold_leg", call, leg, bool(on))

    @remote
    def record(self, call: str, max_seconds: int = 120) -> None:
        self._on_call("record", call, max_seconds)

    @remote
    def hangup(self, call: str) -> None:
        self._on_call("hangup", call)

    @remote
    def recording(self, recording: str) -> bytes:
        """The WAV of a recording (8 kHz, 16 bit, mono)."""
        if not isinstance(recording, str) or not RECORDING.match(recording):
            raise InvalidInput(f"{recording!r:.80} is not a recording id")
        path = Path(self.settings.folder / "recordings" / f"{recording}.wav")
        if not path.is_file():
            raise NotFound(f"no recording {recording}")
        if path.stat().st_size > MAX_RECORDING_BYTES:
            raise InvalidInput(f"recording {recording} is larger than {MAX_RECORDING_BYTES} bytes")
        return path.read_bytes()

    @remote
    def dial(self, number: str, caller_id: str | None = None, ring_seconds: int = 30) -> str:
        """Place an outbound call through the trunk; its call id (``answered`` or ``failed`` follows)."""
        return self._live().dial(number, caller_id, ring_seconds)

    @remote
    def prepare(self, prompts: list[dict[str, Any]]) -> None:
        """Make prompts ready now; ConfigError naming the first that cannot be made."""
        if not isinstance(prompts, list):
            raise InvalidInput("prompts is a list of prompts")
        for prompt in prompts:
            prompt_path(self.prompts, prompt)

    @remote
    def calls(self) -> list[dict[str, Any]]:
        """The calls held now (a drained predecessor's too), with their legs."""
        own = self.switchboard.calls() if self.switchboard is not None else []
        return own + self.predecessors.summaries()

    @remote
    def numbers(self) -> list[str]:
        return sorted(self.settings.trunk.numbers)

    @remote
    def set_phone(self, agent: str, username: str, password: str) -> None:
        """Create or replace an agent's SIP phone account (the password is kept as a digest hash)."""
        self.phonebook.set_phone(agent, username, password)

    @remote
    def remove_phone(self, agent: str) -> None:
        self.phonebook.remove_phone(agent)

    @remote
    def phones(self) -> list[dict[str, Any]]:
        """The agents' phone accounts and their registered contacts."""
        return self.phonebook.phones()

    @remote
    def set_phone_choice(self, agent: str, kind: str, number: str | None = None) -> None:
        """Which phone rings for ``agent``: ``sip`` (the registered phone), ``browser`` (the
        agent desk) or ``number`` (``number`` through the trunk)."""
        self.choices.set(agent, kind, number)

    @remote
    def phone_choice(self, agent: str) -> dict[str, Any]:
        """``{"agent", "kind", "number"}``; ``sip`` for an agent who never chose."""
        return self.choices.get(agent)

    @remote
    def browser_legs(self, agent: str) -> list[dict[str, Any]]:
        """The agent's browser legs held here or by a draining predecessor (``call``, ``leg``,
        ``state``, ``caller``, ``to``, ``started``, ``holding``, and ``offer``, the SDP for the
        page, while it rings); asking is the page's sign of life, passed on to the predecessor."""
        return self._live().browsers.legs(agent) + self.predecessors.browser_legs(agent)

    @remote
    def browser_answer(self, call: str, leg: str, sdp: str) -> None:
        """The page's SDP answer to a ringing browser leg; ``leg_answered`` follows."""
        self._on_call("browser_answer", call, leg, sdp)

    @remote
    def browser_end(self, call: str, leg: str, reason: str = "Declined") -> None:
        """The page ends its leg: a ringing one fails (480, ``reason``), a connected one hangs up."""
        self._on_call("browser_end", call, leg, reason)

    @remote
    def browser_hold(self, call: str, leg: str, on: bool) -> None:
        """Hold (hold audio for the caller, the agent not heard) or take back a bridged browser leg."""
        self._on_call("browser_hold", call, leg, bool(on))

    @remote
    def handover(self, token: str, events: list[dict[str, Any]], results: list[list[Any]],
                 summaries: list[dict[str, Any]], done: bool,
                 browsers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Between instances in a drain swap only (refused without the exported token)."""
        return self.predecessors.exchange(token, events, results, summaries, done, browsers)
