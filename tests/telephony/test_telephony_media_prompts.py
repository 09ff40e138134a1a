"""Prompts: espeak-ng speech cached by voice and text, a vertical's files, tones, and clear
errors when a prompt cannot be made."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest

from caruso_core.errors import ConfigError
from caruso_telephony.prompts import Prompts


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path)) as audio:
        return audio.getframerate(), audio.getnchannels(), audio.getsampwidth(), audio.getnframes() / 8000


def test_speech_is_made_once_per_voice_and_text(tmp_path, monkeypatch):
    prompts = Prompts(tmp_path / "cache")
    spoken = prompts.text("Welcome to caruso.")
    rate, channels, width, seconds = wav_format(spoken)
    assert (rate, channels, width) == (8000, 1, 2) and 0.5 < seconds < 5
    assert spoken.is_absolute() and spoken.stat().st_mode & 0o777 == 0o600
    made = spoken.stat().st_mtime_ns
    monkeypatch.setenv("PATH", "/nonexistent")        # a hit needs neither espeak-ng nor sox
    assert prompts.text("Welcome to caruso.") == spoken and spoken.stat().st_mtime_ns == made
    monkeypatch.undo()
    assert len({spoken, prompts.text("Welcome to caruso!"), prompts.text("Welcome to caruso.", "de")}) == 3
    assert [path.suffix for path in (tmp_path / "cache").iterdir()] == [".wav"] * 3


def test_a_prompt_that_cannot_be_made_fails_check_in_one_line(tmp_path, monkeypatch):
    prompts = Prompts(tmp_path / "cache")
    with pytest.raises(ConfigError, match="espeak-ng failed making prompt 'Hello' .voice nosuchvoice.") as failed:
        prompts.text("Hello", voice="nosuchvoice")
    assert "\n" not in str(failed.value)
    for voice in ("-w /etc/x", "en us", ""):
        with pytest.raises(ConfigError, match="not an espeak-ng voice name"):
            prompts.text("Hello", voice=voice)
    with pytest.raises(ConfigError, match="a prompt text is"):
        prompts.text("   ")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError, match="espeak-ng not found on PATH .install the Debian package espeak-ng.: "
                                          "cannot make prompt 'Press one.'"):
        prompts.check(["Press one.", "Press two."])
    assert not list((tmp_path / "cache").glob("*.wav"))


def test_a_verticals_files_are_named_in_errors(tmp_path):
    good = Prompts(tmp_path).tone("beep")
    (tmp_path / "notes.txt").write_text("not audio")
    prompts = Prompts(tmp_path / "cache", {"greeting": good, "closed": tmp_path / "closed.wav",
                                           "notes": tmp_path / "notes.txt"})
    assert prompts.file("greeting") == good
    with pytest.raises(ConfigError, match="no prompt file named 'holiday' .known: closed, greeting, notes."):
        prompts.file("holiday")
    with pytest.raises(ConfigError, match="prompt file 'closed': .*closed.wav does not exist"):
        prompts.file("closed")
    with pytest.raises(ConfigError, match="prompt file 'notes': .*notes.txt is not a PCM WAV"):
        prompts.file("notes")


def test_tones_are_made_once(tmp_path):
    prompts = Prompts(tmp_path)
    beep, hold = prompts.tone("beep"), prompts.tone("hold")
    assert wav_format(beep) == (8000, 1, 2, 0.5) and wav_format(hold) == (8000, 1, 2, 6.0)
    made = beep.stat().st_mtime_ns
    assert prompts.tone("beep") == beep and beep.stat().st_mtime_ns == made
    with pytest.raises(ConfigError, match="no tone named 'ring'"):
        prompts.tone("ring")
