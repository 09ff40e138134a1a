"""The hot-swap lifecycle of a channel that customers reach on a port of its own (the web
chat's HTTP, the e-mail channel's SMTP; see :mod:`caruso_comm.channel`).

- ``start()`` listens, unless the server starts as a standby (``context.standby``): the
  port is its active predecessor's then, and the standby listens from ``activate()``,
  beside the predecessor (both share the port, ``SO_REUSEPORT``: a customer finds the
  channel at every moment of a swap);
- ``export_state()`` hands the channel's work and port to the successor; from then on the
  customers' writes here are refused as :class:`~caruso_core.errors.Unavailable` (send it
  again in a moment) until the swap ends: ``resume()`` if it did not happen (the writes go
  on here), ``deactivate()`` if it did (this one stops listening);
- ``import_state(state)`` takes the predecessor's work, and its port when this one was
  given none (0: a free port, which the predecessor chose), so customers keep the address.

A write's check and change run in :meth:`ListeningChannel.here`, which an export waits
for: nothing is accepted here after its state went to the successor.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator, Mapping

from caruso_core.context import HostContext
from caruso_core.errors import ConfigError, Unavailable


class ListeningChannel:
    """Subclasses set ``context``, ``port``, :attr:`label` (how errors name them) and
    :attr:`replaced` (what a refused write is told), and give ``_listen()`` (listen on
    ``self.port`` on 127.0.0.1, shared; return the port taken; OSError when it cannot),
    ``_unlisten()`` and, when they hand over work besides the port, ``_work()`` and
    ``_take_work(state)``."""

    context: HostContext
    port: int
    label = "channel"
    replaced = "the service is being replaced: send it again in a moment"

    def __init__(self) -> None:
        self._handing_over = False            # exported to a successor: writes wait for the swap's end
        self._writes = threading.Lock()       # a write's check and change, against an export between them
        self._listening = False

    def start(self) -> None:
        if not self.context.standby:
            self._start_listening()

    def activate(self) -> None:
        self._handing_over = False
        if not self._listening:
            self._start_listening()

    def export_state(self) -> dict[str, Any]:
        with self._writes:
            self._handing_over = True
            return {**self._work(), "port": self.port}

    def import_state(self, state: Mapping[str, Any]) -> None:
        self._take_work(state)
        if not self.port and not self._listening:
            self.port = state.get("port", 0)

    def resume(self) -> None:
        self._handing_over = False

    def deactivate(self) -> None:
        if self._listening:
            self._unlisten()
            self._listening = False

    def stop(self) -> None:
        self.deactivate()

    @contextlib.contextmanager
    def here(self) -> Iterator[None]:
        """Around a write's check and change (nothing awaited within): Unavailable (try again
        in a second) once the work went to a successor, and never half done when it goes."""
        with self._writes:
            if self._handing_over:
                raise Unavailable(self.replaced, retry_after=1)
            yield

    def _start_listening(self) -> None:
        try:
            self.port = self._listen()
        except OSError as error:
            raise ConfigError(f"{self.label} could not listen on 127.0.0.1:{self.port} ({error.strerror})") from None
        self._listening = True

    def _work(self) -> dict[str, Any]:
        return {}

    def _take_work(self, state: Mapping[str, Any]) -> None:
        pass

    def _listen(self) -> int:
        raise NotImplementedError

    def _unlisten(self) -> None:
        raise NotImplementedError
