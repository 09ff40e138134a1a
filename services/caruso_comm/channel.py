"""What a channel is to the communication server.

A channel class comes from a plugin (hook ``caruso_channels``) and is configured in
the server's ``channels`` setting under its name, which is also the ``channel`` of
the interactions it creates (queues and agents' capacities use that name). The
server builds it as ``cls(server, **config)`` and calls ``start()``/``stop()``.
Customers reach the channel (HTTP, SMTP, ...); the channel enters their interactions
through the server's operations (``arrive``, ``abandon``) and keeps their messages.

A channel whose customers prove who they are elsewhere (the web chat: a portal they
signed in to) also has ``chat_pass(customer, name) -> {"url", "expires"}``: where that
customer starts a conversation as themselves; the server's ``chat_pass`` calls it.
"""
from __future__ import annotations

from typing import Any, Protocol


class Channel(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def info(self) -> dict[str, Any]:
        """Where customers reach it (e.g. ``url``, ``port``), as plain data."""

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        """Deliver an agent's message to the customer of ``interaction`` (a snapshot)."""

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        """The messages of an interaction so far, oldest first: ``{"from", "text", "time"}``."""
