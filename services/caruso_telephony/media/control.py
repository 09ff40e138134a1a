"""Media: the media sessions of a telephony instance, held in an rtpengine of its own.

Contract (the SIP layer calls exactly this):

- ``Media(settings, on_dtmf, on_timeout, log=None)``; ``on_dtmf(call, leg_tag, digit)``
  and ``on_timeout(call)`` are called from the media layer's own notification thread,
  one at a time, in order. ``log`` receives rtpengine's lines (default: the logger
  ``caruso_telephony.media``).
- :meth:`~Media.start` makes the folders, starts the DTMF and teardown listeners and an
  rtpengine child process, and returns once rtpengine answers; ConfigError naming the
  binary, address or port when it cannot. :meth:`~Media.stop` deletes the calls still
  held, stops rtpengine (SIGTERM, then SIGKILL), then the listeners and the notification
  thread, and removes rtpengine's spool: no process, thread or port is left.
  :meth:`~Media.health` pings rtpengine; when it died or hangs it is restarted, every
  call it held is lost and reported through ``on_timeout``. It also counts the key
  reports the DTMF listener dropped (``dtmf_dropped``).
- A *call* is the SIP call id, a *leg* the SIP tag of one side. :meth:`~Media.offer`
  and :meth:`~Media.answer` pass an SDP through rtpengine and return the SDP to send on
  (media anchored, ICE removed, the caller's port kept across re-offers: port latching);
  ``webrtc=True`` makes the offered SDP fit a browser (ICE, DTLS-SRTP, rtcp-mux);
  ``extra`` adds ng fields to an offer (e.g. codec transcoding).
  The first offer of a call makes the media layer hold it; every other command on a call
  it does not hold raises NotFound. rtpengine's refusals raise
  :class:`~caruso_telephony.media.ng.MediaRefused`, an rtpengine that does not answer
  Unavailable.
- :meth:`~Media.placeholder_sdp` answers a caller who only hears prompts for now: later
  the caller's SDP is offered again for the agent's leg (``offer`` with the caller's tag,
  ``answer`` with the agent's tag and SDP); the caller's port stays the same.
- :meth:`~Media.play` plays a WAV to leg ``tag`` (the leg that hears it) and returns its
  length in seconds (times ``repeat``); a prompt played into a bridged leg mixes with the
  other leg's audio, so block the other leg meanwhile.
- :meth:`~Media.detect_inband_dtmf` reports dual-tone digits leg ``tag`` sends through
  ``on_dtmf`` like RFC 4733 events; rtpengine skips the detector while the leg is
  blocked, so a caller waiting against the placeholder stays unblocked (its audio goes
  to the placeholder's discard port).
- :meth:`~Media.stop_recording` returns a WAV (8 kHz, 16-bit, mono) of what leg ``tag``
  sent since :meth:`~Media.start_recording`, also after the call ended.
- :meth:`~Media.stats` and :meth:`~Media.delete` give per leg ``sent_packets``,
  ``sent_bytes`` (RTP rtpengine received from it) and ``received_packets``,
  ``received_bytes`` (RTP the legs it listens to sent; prompts not counted). ``delete``
  of a call no longer held (ended by a timeout, deleted already) returns ``{}``.
"""
from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import attrs

from caruso_core.errors import ConfigError, InvalidInput, NotFound, Unavailable
from caruso_core.privatefiles import create_folder
from caruso_telephony import recordings
from caruso_telephony.media.dtmf import DtmfListener
from caruso_telephony.media.engine import Rtpengine, stop_orphans
from caruso_telephony.media.ng import NgClient
from caruso_telephony.media.notifier import Notifier
from caruso_telephony.media.settings import MediaSettings
from caruso_telephony.media.teardown import MAX_CALL_ID, TeardownListener

MAX_SDP = 16384
MAX_REPEAT = 1000
PLAIN = {"replace": ["origin", "session-connection"], "ICE": "remove", "flags": ["port latching"]}
WEBRTC = {"replace": ["origin", "session-connection"], "ICE": "force", "flags": ["port latching", "generate mid"],
          "transport-protocol": "UDP/TLS/RTP/SAVPF", "rtcp-mux": ["offer"], "SDES": ["off"]}
PLACEHOLDER_SDP = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   "m=audio 9 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                   "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n")


@attrs.define
class _Recording:
    since: float
    ports: dict[str, set[int]]


class Media:
    def __init__(self, settings: MediaSettings, on_dtmf: Callable[[str, str, str], None],
                 on_timeout: Callable[[str], None], log: logging.Logger | None = None) -> None:
        self.settings = settings
        self.on_dtmf = on_dtmf
        self.on_timeout = on_timeout
        self.log = log or logging.getLogger("caruso_telephony.media")
        self._calls: dict[str, set[str]] = {}           # call -> its legs' tags
        self._recordings: dict[str, _Recording] = {}
        self._lock = threading.Lock()
        self._lifecycle = threading.Lock()
        self._notifier: Notifier | None = None
        self._dtmf: DtmfListener | None = None
        self._teardown: TeardownListener | None = None
        self._spool: Path | None = None
        self._engine: Rtpengine | None = None
        self._ng: NgClient | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        with self._lifecycle:
            create_folder(self.settings.recordings)
            stop_orphans(Path(self.settings.recordings), self.log)
            self._spool = Path(tempfile.mkdtemp(prefix="rtpengine-spool-", dir=self.settings.recordings))
            notifier = self._notifier = Notifier("media-notifications")
            self._dtmf = DtmfListener(self._holds_leg, lambda *report: notifier.post(self.on_dtmf, *report))
            self._teardown = TeardownListener(self._torn_down)
            for part in (self._notifier, self._dtmf, self._teardown):
                part.start()
            self._engine = Rtpengine(self.settings, dtmf_port=self._dtmf.port, teardown_port=self._teardown.port,
                                     spool=self._spool, log=self.log)
            try:
                self._ng = self._engine.start()
            except ConfigError:
                self._stop_parts()
                raise

    def stop(self) -> None:
        with self._lifecycle:
            with self._lock:
                held = list(self._calls)
            for call in held if self._engine is not None and self._engine.alive else ():
                try:
                    self.delete(call)
                except Unavailable as error:   # rtpengine hangs: it goes anyway
                    self.log.warning("media of calls not deleted at stop: %s", error)
                    break
            self._stop_parts()

    def _stop_parts(self) -> None:
        """rtpengine first, so that it never reports to a closed listener."""
        for part in (self._engine, self._ng, self._dtmf, self._teardown, self._notifier):
            if part is not None:
                part.stop()
        self._engine = self._ng = self._dtmf = self._teardown = self._notifier = None
        if self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None

    def health(self) -> dict[str, Any]:
        with self._lifecycle:
            engine = self._engine
            if engine is None:
                return {"status": "failing", "error": "media not started"}
            if engine.alive and self._ng is not None:
                began = time.perf_counter()
                try:
                    self._ng.request("ping")
                    return {"status": "ok", **self._where(engine), "calls": len(self._calls),
                            "ping_ms": round((time.perf_counter() - began) * 1000, 3)}
                except Unavailable:
                    self.log.error("rtpengine[%s] does not answer: restarting it", engine.pid)
            return self._restart(engine)

    def _restart(self, engine: Rtpengine) -> dict[str, Any]:
        with self._lock:
            lost = list(self._calls)
            self._calls.clear()
        engine.stop()
        if self._ng is not None:
            self._ng.stop()
            self._ng = None
        for call in lost:
            self._post(self.on_timeout, call)
        try:
            self._ng = engine.start()
        except ConfigError as error:
            return {"status": "failing", "error": str(error), "restarted": False, "lost_calls": lost}
        self.log.warning("rtpengine restarted as pid %s; %d calls lost", engine.pid, len(lost))
        return {"status": "degraded", "restarted": True, "lost_calls": lost, **self._where(engine), "calls": 0}

    def _where(self, engine: Rtpengine) -> dict[str, Any]:
        return {"rtpengine_pid": engine.pid, "ng_port": engine.ng_port, "dtmf_port": engine.dtmf_port,
                "teardown_port": engine.teardown_port, "dtmf_dropped": self._dtmf.dropped}

    # -- signalling --------------------------------------------------------------------

    def offer(self, call: str, from_tag: str, sdp: str, *, to_tag: str | None = None, webrtc: bool = False,
              extra: dict[str, Any] | None = None) -> str:
        for name in (call, from_tag, *([to_tag] if to_tag is not None else [])):
            _check_id(name)
        fields = {"call-id": call, "from-tag": from_tag, "sdp": _checked_sdp(sdp), **(WEBRTC if webrtc else PLAIN),
                  **(extra or {})}
        if to_tag is not None:
            fields["to-tag"] = to_tag
        reply = self._request("offer", fields)
        self._hold(call, from_tag, to_tag)
        return str(reply["sdp"])

    def answer(self, call: str, from_tag: str, to_tag: str, sdp: str) -> str:
        self._require(call)
        _check_id(to_tag)
        reply = self._request("answer", {"call-id": call, "from-tag": from_tag, "to-tag": to_tag,
                                         "sdp": _checked_sdp(sdp), **PLAIN})
        self._hold(call, from_tag, to_tag)
        return str(reply["sdp"])

    def placeholder_sdp(self) -> str:
        return PLACEHOLDER_SDP

    # -- media -------------------------------------------------------------------------

    def play(self, call: str, tag: str, wav: Path, repeat: int = 1) -> float:
        self._require(call)
        wav = Path(wav).resolve()
        if not wav.is_file():
            raise NotFound(f"no prompt file {wav}")
        if not 1 <= repeat <= MAX_REPEAT:
            raise InvalidInput(f"repeat must be 1 to {MAX_REPEAT}, not {repeat!r}")
        fields: dict[str, Any] = {"call-id": call, "from-tag": tag, "file": str(wav)}
        if repeat > 1:
            fields["repeat-times"] = repeat
        reply = self._request("play media", fields)
        return int(reply.get("duration", 0)) * repeat / 1000

    def stop_playing(self, call: str, tag: str) -> None:
        self._leg_command("stop media", call, tag)

    def block(self, call: str, tag: str) -> None:
        self._leg_command("block media", call, tag)

    def unblock(self, call: str, tag: str) -> None:
        self._leg_command("unblock media", call, tag)

    def detect_inband_dtmf(self, call: str, tag: str) -> None:
        self._leg_command("unblock DTMF", call, tag, flags=["detect DTMF"], **{"delay-buffer": 0})

    def _leg_command(self, command: str, call: str, tag: str, **extra: Any) -> None:
        self._require(call)
        self._request(command, {"call-id": call, "from-tag": tag, **extra})

    # -- recordings --------------------------------------------------------------------

    def start_recording(self, call: str) -> None:
        self._require(call)
        since = time.time()
        self._request("start recording", {"call-id": call})
        ports = _leg_ports(self._request("query", {"call-id": call}))
        with self._lock:
            self._recordings[call] = _Recording(since, ports)

    def stop_recording(self, call: str, tag: str) -> Path:
        with self._lock:
            recording = self._recordings.get(call)
        if recording is None:
            raise NotFound(f"no recording under way for call {call!r}")
        try:
            self._request("stop recording", {"call-id": call})
            recording.ports.update(_leg_ports(self._request("query", {"call-id": call})))
        except NotFound:
            pass   # the call ended (a timeout, a hang-up): its capture is still in the spool
        until = time.time()
        if tag not in recording.ports:
            raise NotFound(f"call {call!r} has no leg {tag!r} with media")
        assert self._spool is not None
        pcm = recordings.leg_audio(recordings.pcap_files(self._spool, call), recording.ports[tag],
                                   recording.since, until)
        with self._lock:
            self._recordings.pop(call, None)
        self._discard_capture(call)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}.wav"
        return recordings.write_wav(self.settings.recordings / name, pcm)

    def _discard_capture(self, call: str) -> None:
        """Remove the call's pcap files once it is neither held nor recorded."""
        with self._lock:
            if call in self._calls or call in self._recordings or self._spool is None:
                return
        for path in recordings.pcap_files(self._spool, call):
            path.unlink(missing_ok=True)

    # -- statistics and end ------------------------------------------------------------

    def stats(self, call: str) -> dict[str, dict[str, int]]:
        self._require(call)
        return _leg_stats(self._request("query", {"call-id": call}))

    def delete(self, call: str) -> dict[str, dict[str, int]]:
        """The statistics of a query just before the delete: a delete by call id alone ends
        every leg (one with a tag may leave legs of other dialogues) but reports nothing."""
        with self._lock:
            if self._calls.pop(call, None) is None:
                return {}
        try:
            final = _leg_stats(self._request("query", {"call-id": call}))
            self._request("delete", {"call-id": call})
        except NotFound:
            final = {}
        self._discard_capture(call)
        return final

    # -- bookkeeping -------------------------------------------------------------------

    def _request(self, command: str, fields: dict[str, Any]) -> dict[str, Any]:
        ng = self._ng
        if ng is None:
            raise Unavailable("media not started (or rtpengine could not be restarted)")
        return ng.request(command, fields)

    def _hold(self, call: str, *tags: str | None) -> None:
        with self._lock:
            self._calls.setdefault(call, set()).update(tag for tag in tags if tag is not None)

    def _require(self, call: str) -> None:
        with self._lock:
            if call not in self._calls:
                raise NotFound(f"no media session for call {call!r}")

    def _holds_leg(self, call: str, tag: str) -> bool:
        with self._lock:
            return tag in self._calls.get(call, ())

    def _post(self, function: Callable[..., None], *args: Any) -> None:
        if self._notifier is not None:
            self._notifier.post(function, *args)

    def _torn_down(self, call: str) -> None:
        with self._lock:
            held = self._calls.pop(call, None) is not None
        if held:
            self.log.info("media of call %s timed out", call)
            self._post(self.on_timeout, call)
            self._discard_capture(call)


def _check_id(name: str) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= MAX_CALL_ID:
        raise InvalidInput(f"a call id or tag is a str of 1 to {MAX_CALL_ID} characters, not {name!r:.80}")


def _checked_sdp(sdp: str) -> str:
    if not isinstance(sdp, str) or len(sdp) > MAX_SDP:
        raise InvalidInput(f"an SDP is a str of at most {MAX_SDP} characters")
    return sdp


def _rtp_streams(reply: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The RTP streams of each leg of a query or delete reply."""
    return {tag: [stream for media in leg.get("medias", []) for stream in media.get("streams", [])
                  if "RTP" in stream.get("flags", [])]
            for tag, leg in reply.get("tags", {}).items()}


def _leg_ports(reply: dict[str, Any]) -> dict[str, set[int]]:
    return {tag: {stream["local port"] for stream in streams if "local port" in stream}
            for tag, streams in _rtp_streams(reply).items()}


def _leg_stats(reply: dict[str, Any]) -> dict[str, dict[str, int]]:
    sent = {tag: (sum(stream.get("stats", {}).get("packets", 0) for stream in streams),
                  sum(stream.get("stats", {}).get("bytes", 0) for stream in streams))
            for tag, streams in _rtp_streams(reply).items()}
    stats = {}
    for tag, (packets, size) in sent.items():
        sources = [entry.get("tag") for entry in reply["tags"][tag].get("subscriptions", [])]
        stats[tag] = {"sent_packets": packets, "sent_bytes": size,
                      "received_packets": sum(sent.get(source, (0, 0))[0] for source in sources),
                      "received_bytes": sum(sent.get(source, (0, 0))[1] for source in sources)}
    return stats
