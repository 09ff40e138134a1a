"""Child processes running ``caruso`` commands: started, read line by line, awaited.

Contract: ``caruso manager`` and ``caruso serve`` started with ``--ready-json`` print,
once they serve, one line ``{"ready": {...}}`` on standard output (the manager:
``uri``; a host: ``name``, ``version``, ``instance_id``, ``uri``), besides their human
line. :class:`Child` starts such a command in a session of its own, writes
``stdin_text`` to its standard input and closes it, passes every output line to
``echo``, and :meth:`Child.wait_ready` returns the ready record. ``caruso up`` and the
test kit start their processes through it.

A child ends with its parent, however the parent ends (``kill -9`` too): it gets
``--lifeline FD``, the read end of a pipe whose write end only the parent process holds,
and :func:`stop_with_parent` sends it SIGTERM, its graceful stop, when that pipe reads
end of file.
"""
from __future__ import annotations

import functools
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Sequence

from caruso_core.errors import ConfigError

READY_KEY = "ready"


def ready_line(**record: Any) -> str:
    """The line a command prints when it serves (see the module's contract)."""
    return json.dumps({READY_KEY: record}, sort_keys=True)


class Child:
    """One ``python -m caruso_core ARGUMENTS`` process."""

    def __init__(self, arguments: Sequence[str], env: dict[str, str], *, cwd: str | None = None,
                 launcher: Sequence[str] = (), stdin_text: str | None = None,
                 echo: Callable[[str], None] | None = None) -> None:
        self.arguments = list(arguments)
        self.output: list[str] = []
        self.record: dict[str, Any] | None = None
        self.ready = threading.Event()
        self._echo = echo
        lifeline = _lifeline()
        self.process = subprocess.Popen(
            [*launcher, sys.executable, "-m", "caruso_core", *arguments, "--lifeline", str(lifeline)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            env=env, cwd=cwd, start_new_session=True, pass_fds=(lifeline,))
        assert self.process.stdin is not None
        with self.process.stdin:
            if stdin_text is not None:
                self.process.stdin.write(stdin_text)
        self.started_at = time.monotonic()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            if not self.ready.is_set() and line.startswith('{"' + READY_KEY + '"'):
                self.record = json.loads(line)[READY_KEY]
                self.ready.set()
                continue
            self.output.append(line)
            if self._echo is not None:
                self._echo(line)

    def wait_ready(self, timeout: float, give_up: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """The ready record; ConfigError (with its last output) if the process ends, or if
        the time runs out or ``give_up()`` says so first (the process is left running)."""
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.05):
            if self.process.poll() is not None:
                self._reader.join(5)
                self._fail(f"exited with code {self.process.returncode}")
            if give_up() or time.monotonic() > deadline:
                self._fail(f"did not become ready within {timeout:g}s")
        assert self.record is not None
        return self.record

    def _fail(self, why: str) -> None:
        raise ConfigError(f"'caruso {' '.join(self.arguments[:2])}' {why}; its last output:\n"
                          + "\n".join(self.output[-40:]))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float) -> int:
        """SIGTERM (graceful) and wait; SIGKILL if it does not end in time. The exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        code = self.process.wait()
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.alive:
            self.process.kill()
        self.process.wait()


@functools.cache
def _lifeline() -> int:
    """The read end of this process's lifeline; the write end is never written, nor passed on
    (``os.pipe`` makes both ends non-inheritable; a child gets the read end through ``pass_fds``)."""
    read_end, _write_end = os.pipe()
    return read_end


def stop_with_parent(fd: int) -> None:
    """SIGTERM to this process once ``fd``, the read end of its parent's lifeline, reads end of
    file; ConfigError if ``fd`` is no open pipe."""
    try:
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        is_pipe = False
    if not is_pipe:
        raise ConfigError(f"--lifeline {fd} is not an open pipe")
    os.set_inheritable(fd, False)               # not passed on to what this process starts

    def watch() -> None:
        while os.read(fd, 64):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="caruso-lifeline", daemon=True).start()
