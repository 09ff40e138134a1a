"""One rtpengine child process: its command line, its readiness, its log, its end.

Contract: :meth:`Rtpengine.start` runs the daemon in user space (no kernel module, no
configuration file: Debian's ``/etc/rtpengine/rtpengine.conf`` would add a CLI and an
HTTP listener on fixed ports) in a session of its own, with its ng port, RTP port range,
timeouts, DTMF log destination, teardown URL and recording spool on the command line,
and returns an :class:`~caruso_telephony.media.ng.NgClient` once a ``ping`` is answered.
It raises ConfigError naming the binary, the address or the port, with rtpengine's last
lines, when the daemon cannot be found, exits or does not answer within the start
timeout. Every line rtpengine writes goes to the given logger at its level.
:meth:`Rtpengine.stop` sends SIGTERM (and SIGCONT, for a stopped one) to its process
group, which holds what it forked (the processes that deliver its teardown requests),
then SIGKILL after ``STOP_TIMEOUT``, so nothing of it stays running. A host killed
outright cannot do that, and its rtpengine, in a session of its own, runs on: each
rtpengine notes its host in its spool (``owner.json``), and :func:`stop_orphans`, which
the media layer calls as it starts, stops the rtpengine of every spool whose host is gone.
"""
from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

from caruso_core.errors import CarusoError, ConfigError
from caruso_telephony.media.ng import NgClient
from caruso_telephony.media.settings import MediaSettings

STOP_TIMEOUT = 5.0
OWNER = "owner.json"      # in the spool: {"machine": its host name, "host": pid, "rtpengine": pid}
OWNER_BYTES = 1024
LEVELS = {"EMERG": logging.CRITICAL, "ALERT": logging.CRITICAL, "CRIT": logging.CRITICAL, "ERR": logging.ERROR,
          "WARNING": logging.WARNING, "NOTICE": logging.DEBUG, "INFO": logging.DEBUG, "DEBUG": logging.DEBUG}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_orphans(recordings: Path, log: logging.Logger) -> None:
    """Stop the rtpengine of each spool in ``recordings`` whose host process on this machine
    is gone (only a process whose command line names that spool), and remove the spool."""
    for owner in recordings.glob(f"rtpengine-spool-*/{OWNER}"):
        try:
            noted = json.loads(_small_file(owner))
            machine, host, daemon = noted["machine"], int(noted["host"]), int(noted["rtpengine"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if machine != socket.gethostname() or _running(host):    # another machine's (a shared folder), or alive
            continue
        try:
            command = Path(f"/proc/{daemon}/cmdline").read_bytes().split(b"\0")
        except OSError:
            command = []
        if f"--recording-dir={owner.parent}".encode() in command:
            log.warning("rtpengine[%d] outlived its host (process %d): stopping it", daemon, host)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon, signal.SIGTERM)    # it leads its own session: what it forked goes too
                os.killpg(daemon, signal.SIGCONT)
        shutil.rmtree(owner.parent, ignore_errors=True)


def _small_file(path: Path) -> bytes:
    """The bytes of a regular file of at most ``OWNER_BYTES``; ValueError for anything else
    (a FIFO would block the start, a large file is no note of ours)."""
    with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise ValueError(f"{path} is not a regular file")
        data = file.read(OWNER_BYTES + 1)
    if len(data) > OWNER_BYTES:
        raise ValueError(f"{path} is over {OWNER_BYTES} bytes")
    return data


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[0] != "Z"


class Rtpengine:
    """rtpengine for one media layer: ``dtmf_port`` and ``teardown_port`` are its
    listeners on 127.0.0.1, ``spool`` the folder of its pcap recordings."""

    def __init__(self, settings: MediaSettings, *, dtmf_port: int, teardown_port: int, spool: Path,
                 log: logging.Logger) -> None:
        self.settings = settings
        self.dtmf_port = dtmf_port
        self.teardown_port = teardown_port
        self.spool = spool
        self.log = log
        self.ng_port = settings.ng_port
        self.process: subprocess.Popen[bytes] | None = None
        self._last_lines: collections.deque[str] = collections.deque(maxlen=20)
        self._reader: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        """Whether it runs; an ended daemon is not reaped here, so its process group stays
        ours to signal until :meth:`stop`."""
        if self.process is None or self.process.returncode is not None:
            return False
        try:
            return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> NgClient:
        binary = shutil.which(self.settings.rtpengine)
        if binary is None:
            raise ConfigError(f"rtpengine binary {self.settings.rtpengine!r} not found: install the Debian "
                              f"package rtpengine-daemon or set the media setting rtpengine")
        self._check_address()
        attempt = 0
        while True:
            attempt += 1
            self.ng_port = self.settings.ng_port or free_udp_port()
            try:
                return self._start_once(binary)
            except ConfigError:
                self.stop()
                port_taken = "Address already in use" in "\n".join(self._last_lines)
                if self.settings.ng_port or not port_taken or attempt == 3:   # a free port taken meanwhile:
                    raise                                                         # another one

    def _check_address(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((self.settings.address, 0))
            except OSError as error:
                raise ConfigError(f"media setting address {self.settings.address}: no local interface has "
                                  f"it ({error.strerror})") from None

    def _start_once(self, binary: str) -> NgClient:
        low, high = self.settings.rtp_ports
        self._last_lines.clear()
        command = [binary, "--config-file=none", "--table=-1", "--foreground", "--log-stderr",
                   "--no-log-timestamps", "--log-level=5", f"--interface={self.settings.address}",
                   f"--listen-ng=127.0.0.1:{self.ng_port}", f"--port-min={low}", f"--port-max={high}",
                   f"--timeout={self.settings.rtp_timeout}", f"--silent-timeout={self.settings.silent_timeout}",
                   f"--offer-timeout={self.settings.offer_timeout}", "--delete-delay=0",
                   f"--dtmf-log-dest=127.0.0.1:{self.dtmf_port}", f"--recording-dir={self.spool}",
                   "--recording-method=pcap", f"--b2b-url=http://127.0.0.1:{self.teardown_port}/RPC2",
                   "--xmlrpc-format=1"]
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, start_new_session=True)
        except OSError as error:
            raise ConfigError(f"rtpengine binary {binary} cannot run: {error.strerror}") from None
        (self.spool / OWNER).write_text(json.dumps({"machine": socket.gethostname(), "host": os.getpid(),
                                                     "rtpengine": self.process.pid}))
        self._reader = threading.Thread(target=self._read_log, args=(self.process,),
                                        name=f"rtpengine-log-{self.process.pid}", daemon=True)
        self._reader.start()
        client = NgClient(self.ng_port, timeout=0.05, retries=0)
        deadline = time.monotonic() + self.settings.start_timeout
        try:
            while time.monotonic() < deadline and self.alive:
                try:
                    client.request("ping")
                    break
                except CarusoError:
                    continue
            else:
                exited = not self.alive
                if exited:              # what it said before it exited: its output read to the end
                    self._reader.join(STOP_TIMEOUT)
                why = "exited" if exited else f"did not answer within {self.settings.start_timeout:g}s"
                raise ConfigError(f"rtpengine ({binary}, ng port 127.0.0.1:{self.ng_port}) {why}; its last "
                                  f"lines:\n" + "\n".join(self._last_lines))
        finally:
            client.stop()
        return NgClient(self.ng_port, timeout=self.settings.ng_timeout, retries=self.settings.ng_retries)

    def _read_log(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        with process.stderr:
            for raw in process.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                self._last_lines.append(line)
                level, _, _ = line.partition(":")
                self.log.log(LEVELS.get(level, logging.INFO), "rtpengine[%d] %s", process.pid, line)

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:   # not reaped yet: its process group is still its own
            os.killpg(process.pid, signal.SIGTERM)   # the daemon and the teardown senders it forked
            os.killpg(process.pid, signal.SIGCONT)   # a stopped one (a hang) handles SIGTERM once it runs
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            self.log.log(logging.INFO if process.returncode in (0, -signal.SIGTERM) else logging.ERROR,
                         "rtpengine[%d] ended with code %s", process.pid, process.returncode)
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT)
