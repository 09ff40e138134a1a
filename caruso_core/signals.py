"""Stopping a long-running command: SIGINT and SIGTERM, to it or to its process group.

:func:`on_stop` makes both signals call ``stop`` (the first time; later ones are ignored,
so a second Ctrl-C does not cut a clean stop short). It installs handlers only from the
main thread (Python allows no other) and returns whether it did; a command that runs
its work in another thread installs them itself. A signal that was ignored when the
process started (a job started in the background by a shell script) is handled too.
"""
from __future__ import annotations

import signal
import threading
from typing import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_stop(stop: Callable[[], None]) -> bool:
    """Make SIGINT and SIGTERM call ``stop`` once; False (nothing installed) off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return False
    stopping = threading.Event()

    def handle(signum: int, frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            stop()

    for signum in STOP_SIGNALS:
        signal.signal(signum, handle)
    return True
