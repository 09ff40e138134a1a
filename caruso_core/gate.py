"""The gate in front of a hosted instance: which calls may run, and when it is idle.

States and what a call arriving meets:

``open``      runs (counted in flight until it returns);
``holding``   waits until the gate opens again or refuses;
``refusing``  :class:`ServiceMoved` at once, without running (standby, swapped out, retiring).

:meth:`Gate.hold` returns only when no call is in flight, so whatever runs next
(``export_state``, ``stop``) sees no half-done call. :attr:`Gate.draining` is set while
the gate does not admit calls: a long-running call (a long poll) that watches it ends
early, so that a swap or a stop need not wait for it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from caruso_core.errors import ServiceMoved, SwapFailed

OPEN, HOLDING, REFUSING = "open", "holding", "refusing"


class Gate:
    """Admits, holds or refuses calls; counts the ones in flight."""

    def __init__(self, state: str = OPEN, label: str = "service") -> None:
        self._state = state
        self._label = label
        self._in_flight = 0
        self._waiting = 0
        self._changed = threading.Condition()
        self.draining = threading.Event()
        if state != OPEN:
            self.draining.set()

    @property
    def state(self) -> str:
        return self._state

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Calls held at the gate, waiting for it to open or refuse."""
        return self._waiting

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``function`` if the gate admits the call; wait while it holds."""
        with self._changed:
            self._waiting += 1
            while self._state == HOLDING:
                self._changed.wait()
            self._waiting -= 1
            if self._state == REFUSING:
                raise ServiceMoved(f"{self._label} does not take calls here any more; ask the manager again")
            self._in_flight += 1
        try:
            return function(*args, **kwargs)
        finally:
            with self._changed:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._changed.notify_all()

    def hold(self, timeout: float) -> None:
        """Hold new calls and wait until none is in flight; on timeout reopen and raise SwapFailed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            previous, self._state = self._state, HOLDING
            self.draining.set()
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._state = previous
                    if previous == OPEN:
                        self.draining.clear()
                    self._changed.notify_all()
                    raise SwapFailed(f"{self._label} still had {self._in_flight} call(s) in flight "
                                     f"after {timeout:g}s; nothing was changed")
                self._changed.wait(remaining)

    def open(self) -> None:
        self._set(OPEN)

    def refuse(self) -> None:
        self._set(REFUSING)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no call is in flight; True if that happened within ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: self._in_flight == 0, timeout)

    def _set(self, state: str) -> None:
        with self._changed:
            self._state = state
            if state == OPEN:
                self.draining.clear()
            else:
                self.draining.set()
            self._changed.notify_all()
