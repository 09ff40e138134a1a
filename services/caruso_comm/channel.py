"""What a channel is to the communication server.

A channel class comes from a plugin (hook ``caruso_channels``) and is configured in
the server's ``channels`` setting under its name, which is also the ``channel`` of
the interactions it creates (queues and agents' capacities use that name). The
server builds it as ``cls(server, context, **config)``: ``server`` has the server's
operations, ``context`` is the server's :class:`~caruso_core.context.HostContext`
(``context.client`` reaches other services, e.g. the storage service); it calls
``start()``/``stop()``. Customers reach the channel (HTTP, SMTP, ...); the channel enters
their interactions through the server's operations (``arrive``, ``abandon``) and keeps
their messages.

A channel may also have ``observe(event)`` (every event of the ACD, under the server's
lock: queue work, do not block), and ``export_state()`` / ``import_state(state)`` (its
work, as plain data, handed over in a hot-swap; ``export_state`` is called outside the
server's lock, after the server stopped its timers). The transcripts of live interactions
go with the server's own state. A channel that customers reach on a fixed port has
``activate()`` (the server took the work: its cold start, or after ``import_state``),
``resume()`` (a swap after its ``export_state`` did not happen) and ``deactivate()`` (a
swap moved the work to a successor): a server started as a standby
(``context.standby``) listens only from ``activate()``, and stops at ``deactivate()``
(:class:`caruso_comm.channels.listening.ListeningChannel` does all of it).

**After a restart.** With ``persist``, a cold start takes back the interactions an earlier
run (stopped or crashed) left open on each running channel: waiting ones wait again with
their time of arrival, connected ones stay with their agent. Each channel then says, once,
which of them it still holds (its customer is still there: a chat it has the key of, an
e-mail it has the message of, a call telephony holds): those go on, the others end with
reason ``restart`` (a connected one completes with disposition ``restart``, any other ends
``closed``, counted neither as answered nor as abandoned). A channel says so either

- at the cold start, with ``held(interactions) -> list[str]``: ``interactions`` are the
  snapshots (as ``interaction()`` gives them) of those taken back for it, after the
  transcripts of text channels were loaded (:meth:`CommServer.transcripts`); it returns
  the ids it holds; or
- later, from its own thread, with ``server.reclaim(name, ids)``, which returns the
  snapshots of those that go on (the ``voice`` channel, once telephony answers).

A channel that has said neither within ``reclaim_within`` seconds (default 30) holds none.
Without ``persist`` nothing is taken back. Text channels keep their messages in
``server.transcripts(name)``, which the server writes behind with ``persist``.

A channel whose customers prove who they are elsewhere (the web chat: a portal they
signed in to) also has ``chat_pass(customer, name) -> {"url", "expires"}``: where that
customer starts a conversation as themselves; the server's ``chat_pass`` calls it.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol

from caruso_core import plugins
from caruso_core.context import HostContext
from caruso_core.errors import ConfigError, NotFound

HOOK = "caruso_channels"


class Channel(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def info(self) -> dict[str, Any]:
        """Where customers reach it (e.g. ``url``, ``port``), as plain data."""

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        """Deliver an agent's message to the customer of ``interaction`` (a snapshot)."""

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        """The messages of an interaction so far, oldest first: ``{"from", "text", "time"}``."""


class Channels:
    """The running channels by name, built from ``settings`` (name -> configuration) as
    ``cls(server, context, **config)``; ConfigError names a channel not installed or a
    configuration its class does not take."""

    def __init__(self, server: Any, context: HostContext, settings: Mapping[str, Mapping[str, Any]]) -> None:
        installed = plugins.provided(HOOK)
        self.by_name: dict[str, Channel] = {}
        for name, config in settings.items():
            if name not in installed:
                raise ConfigError(f"no channel {name!r} (installed: {', '.join(sorted(installed)) or 'none'})")
            try:
                self.by_name[name] = installed[name](server, context, **config)
            except TypeError as error:
                raise ConfigError(f"channel {name!r}: {error}") from None

    def running(self, name: str) -> Channel:
        if name not in self.by_name:
            raise NotFound(f"no running channel {name!r}")
        return self.by_name[name]

    def start(self) -> None:
        for channel in self.by_name.values():
            channel.start()

    def observe(self, event: Any) -> None:
        for channel in self.by_name.values():
            observe = getattr(channel, "observe", None)
            if observe is not None:
                observe(event)

    def held(self, name: str, interactions: list[dict[str, Any]]) -> list[str] | None:
        """Which of ``interactions`` (taken back at a cold start) channel ``name`` still holds;
        None if it says so later itself (it has no ``held``)."""
        held = getattr(self.running(name), "held", None)
        return None if held is None else held(interactions)

    def export_state(self) -> dict[str, Any]:
        """The work of the channels that hand some over, by name."""
        return {name: channel.export_state() for name, channel in self.by_name.items()
                if hasattr(channel, "export_state")}

    def import_state(self, states: Mapping[str, Any]) -> None:
        for name, state in states.items():
            if name in self.by_name and hasattr(self.by_name[name], "import_state"):
                self.by_name[name].import_state(state)

    def activate(self) -> None:
        self._tell("activate")

    def resume(self) -> None:
        self._tell("resume")

    def deactivate(self) -> None:
        self._tell("deactivate")

    def _tell(self, step: str) -> None:
        """Call ``step()`` of every channel that has it."""
        for channel in self.by_name.values():
            told = getattr(channel, step, None)
            if told is not None:
                told()

    def stop(self) -> None:
        for channel in self.by_name.values():
            channel.stop()

    def info(self) -> dict[str, dict[str, Any]]:
        """The running channels and where customers reach them."""
        return {name: channel.info() for name, channel in self.by_name.items()}

    def chat_pass(self, customer: str, name: str = "", channel: str = "webchat") -> dict[str, Any]:
        """``{"url", "expires"}``: the chat page of ``channel`` with a single-use pass, valid for a
        few minutes, that starts a chat whose customer is ``customer`` (shown to the agent as
        ``name``); for a customer who signed in to a portal. The only way a chat gets a
        customer (see docs/communication.md)."""
        found = self.running(channel)
        if not hasattr(found, "chat_pass"):
            raise NotFound(f"channel {channel!r} takes no chat passes")
        return found.chat_pass(customer, name)

    def messages(self, interaction: str, channel: str) -> list[dict[str, Any]]:
        """The messages of an interaction of a text channel, oldest first."""
        return self.running(channel).messages(interaction)
