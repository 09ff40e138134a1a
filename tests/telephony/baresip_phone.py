"""baresip as an agent's desk phone for telephony tests: a real softphone registering with
digest, answering every call at once, sending a 440 Hz tone (baresip's sine source runs
at 48 kHz in stereo only, resampled to G.711's 8 kHz) and discarding what it hears."""
from __future__ import annotations

import subprocess
from pathlib import Path

from sip_peers import free_port

MODULES = ("g711.so", "ausine.so", "aubridge.so")
APPS = ("account.so", "menu.so")


class Baresip:
    """A baresip in ``folder`` registering ``username``/``password`` at 127.0.0.1:``port``."""

    def __init__(self, folder: Path, port: int, username: str, password: str) -> None:
        self.folder = folder / f"baresip-{username}"
        self.folder.mkdir()
        self.sip_port = free_port()
        lines = ["module_path /usr/lib/baresip/modules", f"sip_listen 127.0.0.1:{self.sip_port}",
                 "audio_source ausine,440", "ausrc_srate 48000", "ausrc_channels 2", "audio_player aubridge,sink", "audio_alert aubridge,alert",
                 *(f"module {name}" for name in MODULES), *(f"module_app {name}" for name in APPS)]
        (self.folder / "config").write_text("\n".join(lines) + "\n")
        (self.folder / "accounts").write_text(
            f"<sip:{username}@127.0.0.1:{port};transport=udp>;auth_pass={password};regint=300;"
            "answermode=auto;audio_codecs=PCMA\n")
        self.output = self.folder / "output.txt"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Baresip":
        with open(self.output, "wb") as output:
            self.process = subprocess.Popen(["baresip", "-4", "-n", "127.0.0.1", "-f", str(self.folder)], stdin=subprocess.DEVNULL,
                                            stdout=output, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.output.read_text(errors="replace")[-3000:] if self.output.exists() else ""
