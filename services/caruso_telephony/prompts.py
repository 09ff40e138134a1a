"""Prompts: the WAV files callers hear, spoken by espeak-ng, shipped by a vertical, or tones.

Contract: every path returned is an absolute WAV file rtpengine can play.

- :meth:`Prompts.text` speaks ``text`` with espeak-ng voice ``voice`` (the text goes on
  standard input, never on a command line) and converts it with sox to 8 kHz, mono,
  16-bit; the result is cached in ``cache`` under a hash of (voice, text), written
  whole or not at all, so a second call costs a file check. ConfigError, in one line,
  when espeak-ng or sox is missing, fails or runs too long, or the voice or text is
  malformed.
- :meth:`Prompts.file` is the WAV a vertical ships under ``name`` (``files``);
  ConfigError naming it when unknown, missing or not a PCM WAV.
- :meth:`Prompts.tone` is ``beep`` (the voicemail tone, 0.5 s) or ``hold`` (hold
  audio, a soft six-second phrase to repeat), generated once into the cache.
- :meth:`Prompts.check` speaks all ``texts`` now: a prompt that cannot be made is an
  error when a deployment loads, not silence during a call.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import tempfile
import wave
from array import array
from pathlib import Path
from typing import Iterable, Mapping

from caruso_core.errors import ConfigError
from caruso_core.privatefiles import create_folder

RATE = 8000
MAX_TEXT = 4000
RUN_SECONDS = 60
VOICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+.-]{0,39}")
TONES = {
    "beep": [(0.5, (1000,))],
    "hold": [(0.6, (523, 659)), (0.4, ()), (0.6, (587, 698)), (0.4, ()), (0.6, (523, 784)), (3.4, ())],
}


class Prompts:
    def __init__(self, cache: Path, files: Mapping[str, Path] = {}) -> None:
        self.cache = Path(cache).resolve()
        self.files = {name: Path(path) for name, path in files.items()}

    def text(self, text: str, voice: str = "en") -> Path:
        if not isinstance(voice, str) or not VOICE.fullmatch(voice):
            raise ConfigError(f"prompt voice {voice!r:.60} is not an espeak-ng voice name")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ConfigError(f"a prompt text is 1 to {MAX_TEXT} characters, not {text!r:.60}")
        key = hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()[:32]
        target = self.cache / f"speech-{key}.wav"
        if not target.is_file():
            self._speak(text, voice, target)
        return target

    def _speak(self, text: str, voice: str, target: Path) -> None:
        what = f"prompt {text!r:.60} (voice {voice})"
        espeak, sox = _tool("espeak-ng", what), _tool("sox", what)
        with tempfile.TemporaryDirectory(dir=create_folder(self.cache)) as work:
            spoken, converted = Path(work, "spoken.wav"), Path(work, "converted.wav")
            _run([espeak, "-v", voice, "--stdin", "-w", str(spoken)], text, what)
            _run([sox, str(spoken), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
                  str(converted)], None, what)
            os.chmod(converted, 0o600)
            os.replace(converted, target)

    def file(self, name: str) -> Path:
        path = self.files.get(name)
        if path is None:
            raise ConfigError(f"no prompt file named {name!r} (known: {', '.join(sorted(self.files)) or 'none'})")
        try:
            with wave.open(str(path)):
                pass
        except FileNotFoundError:
            raise ConfigError(f"prompt file {name!r}: {path} does not exist") from None
        except (wave.Error, EOFError, OSError) as error:
            raise ConfigError(f"prompt file {name!r}: {path} is not a PCM WAV file ({error})") from None
        return path.resolve()

    def tone(self, name: str) -> Path:
        if name not in TONES:
            raise ConfigError(f"no tone named {name!r} (known: {', '.join(TONES)})")
        target = self.cache / f"tone-{name}.wav"
        if not target.is_file():
            fd, temporary = tempfile.mkstemp(suffix=".wav", dir=create_folder(self.cache))
            with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(RATE)
                out.writeframes(_synthesize(TONES[name]))
            os.replace(temporary, target)
        return target

    def check(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.text(text)


def _tool(name: str, what: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"{name} not found on PATH (install the Debian package {name}): cannot make {what}")
    return found


def _run(command: list[str], stdin: str | None, what: str) -> None:
    name = Path(command[0]).name
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{name} ran longer than {RUN_SECONDS}s making {what}") from None
    except OSError as error:
        raise ConfigError(f"{name} cannot run ({error.strerror}): cannot make {what}") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}").splitlines()[0]
        raise ConfigError(f"{name} failed making {what}: {said}")


def _synthesize(notes: list[tuple[float, tuple[int, ...]]]) -> bytes:
    """16-bit PCM of notes (seconds, frequencies; none: a rest), each faded in and out over 10 ms."""
    samples = array("h")
    fade = RATE // 100
    for seconds, frequencies in notes:
        count = round(seconds * RATE)
        for i in range(count):
            envelope = min(1.0, i / fade, (count - 1 - i) / fade)
            level = sum(math.sin(2 * math.pi * f * i / RATE) for f in frequencies) / max(1, len(frequencies))
            samples.append(round(8000 * envelope * level))
    return samples.tobytes()
