"""The media layer on a real rtpengine with real RTP: relay, prompts, DTMF, recordings, SDP."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest

from caruso_core.errors import InvalidInput, NotFound
from caruso_telephony.media import MediaRefused
from caruso_telephony.media.ng import NgClient
from caruso_telephony.prompts import Prompts
from media_instances import bridged_call, ivr_call, media  # noqa: F401  (a fixture)
from rtp_peers import PCMU, RtpPeer, dtmf_tone, silence, tone


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        return audio.getnframes() / 8000


def test_media_relays_both_ways_and_counts_each_leg(media):
    with bridged_call(media, "relay") as (caller, agent):
        caller.send_audio(tone(1.0, 440))          # 50 packets
        agent.send_audio(tone(0.8, 300))           # 40 packets
        assert len(agent.wait_for(50)) == 50
        assert len(caller.wait_for(40)) == 40
        stats = media.stats("relay")
        assert stats["caller"]["sent_packets"] == 50 and stats["caller"]["received_packets"] == 40
        assert stats["agent"]["sent_packets"] == 40 and stats["agent"]["received_packets"] == 50
        assert stats["caller"]["sent_bytes"] == 50 * (12 + 160)
        final = media.delete("relay")
        assert final == stats
    with pytest.raises(NotFound):
        media.stats("relay")
    assert media.delete("relay") == {}


def test_a_prompt_reaches_the_leg_that_hears_it_for_as_long_as_the_wav(media, tmp_path):
    beep = Prompts(tmp_path).tone("beep")
    with ivr_call(media, "prompt") as caller:
        seconds = media.play("prompt", "caller", beep)
        assert seconds == pytest.approx(wav_seconds(beep), abs=0.02)
        packets = caller.wait_for(round(seconds / 0.02))
        assert {packet.payload_type for packet in packets} == {PCMU}
        assert media.play("prompt", "caller", beep, repeat=3) == pytest.approx(3 * seconds, abs=0.06)
        caller.wait_for(4 * round(seconds / 0.02))
        media.stop_playing("prompt", "caller")


def test_rfc4733_digits_reach_on_dtmf_with_call_and_leg_in_order(media):
    with bridged_call(media, "keys") as (caller, agent):
        for digit in "12#":
            caller.send_event(digit)
            caller.send_audio(silence(0.1))
        agent.send_event("7")
        assert media.reports.digits("keys", 4) == [("caller", "1"), ("caller", "2"), ("caller", "#"), ("agent", "7")]


def test_inband_digits_reach_on_dtmf_once_detection_is_on(media):
    with ivr_call(media, "tones") as caller:
        media.detect_inband_dtmf("tones", "caller")
        for digit in "93*":
            caller.send_audio(silence(0.1) + dtmf_tone(digit) + silence(0.1))
        assert media.reports.digits("tones", 3) == [("caller", "9"), ("caller", "3"), ("caller", "*")]


def test_a_recording_holds_what_one_leg_sent(media):
    with bridged_call(media, "voicemail") as (caller, agent):
        media.start_recording("voicemail")
        caller.send_audio(tone(2.0, 440))
        agent.send_audio(tone(0.5, 300))
        recorded = media.stop_recording("voicemail", "caller")
    assert wav_seconds(recorded) == pytest.approx(2.0, rel=0.1)
    assert recorded.stat().st_mode & 0o777 == 0o600
    with pytest.raises(NotFound):
        media.stop_recording("voicemail", "caller")


def test_a_recording_outlives_its_call(media):
    with bridged_call(media, "hung-up") as (caller, _):
        media.start_recording("hung-up")
        caller.send_audio(tone(1.0, 440))
    recorded = media.stop_recording("hung-up", "caller")
    assert wav_seconds(recorded) == pytest.approx(1.0, rel=0.1)


def test_a_webrtc_offer_carries_ice_and_dtls(media):
    caller = RtpPeer()
    try:
        sdp = media.offer("browser", "caller", caller.sdp(), webrtc=True)
        assert "UDP/TLS/RTP/SAVPF" in sdp and "a=fingerprint:sha-256" in sdp and "a=ice-ufrag:" in sdp
        assert "a=candidate:" in sdp and "a=rtcp-mux" in sdp and "a=crypto" not in sdp
    finally:
        media.delete("browser")
        caller.close()


def test_commands_on_calls_it_does_not_hold_and_bad_input_are_refused(media, tmp_path):
    beep = Prompts(tmp_path).tone("beep")
    for command in (lambda: media.play("unknown", "caller", beep), lambda: media.block("unknown", "caller"),
                    lambda: media.answer("unknown", "a", "b", "v=0\r\n"), lambda: media.start_recording("unknown")):
        with pytest.raises(NotFound):
            command()
    with pytest.raises(InvalidInput):
        media.offer("x" * 257, "caller", "v=0\r\n")
    with pytest.raises(InvalidInput):
        media.offer("big", "caller", "v=0\r\n" + "a=x\r\n" * 5000)
    with pytest.raises(MediaRefused, match="Failed to parse SDP"):
        media.offer("garbage", "caller", "garbage")
    with ivr_call(media, "no-file"):
        with pytest.raises(NotFound):
            media.play("no-file", "caller", tmp_path / "absent.wav")
        with pytest.raises(MediaRefused, match="play media"):
            media.play("no-file", "caller", Path(__file__))


def test_a_caller_in_the_ivr_is_bridged_to_an_agent_on_the_same_port(media):
    with ivr_call(media, "transfer") as caller:
        caller.send_audio(tone(0.2, 440))
        agent = RtpPeer()
        try:
            agent.connect(media.offer("transfer", "caller", caller.sdp()))
            to_caller = media.answer("transfer", "caller", "agent", agent.sdp())
            assert f"m=audio {caller.remote[1]} " in to_caller      # the caller keeps sending where it did
            caller.send_audio(tone(0.4, 440))
            agent.send_audio(tone(0.4, 300))
            agent.wait_for(20)
            caller.wait_for(20)
            media.delete("transfer")
            with pytest.raises(NotFound):
                NgClient(media.health()["ng_port"], timeout=1, retries=0).request("query", {"call-id": "transfer"})
        finally:
            agent.close()
