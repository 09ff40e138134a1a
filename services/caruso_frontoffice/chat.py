"""Web chat from the portal: the communication server's chat page, opened as the
customer who signed in here.

A chat's customer comes only from a pass the communication server issues
(``chat_pass`` of ``caruso.comm/1``: signed, single-use, valid for a few minutes) for
a customer whose account names their record; the portal sends the browser to the chat
page with it. Anyone else gets the chat page without a pass, whose chats are anonymous.
"""
from __future__ import annotations

from typing import Any

from caruso_core.errors import CarusoError, NotFound
from caruso_frontoffice.accounts import User

CHANNEL = "webchat"


def customer_reference(key: dict[str, Any]) -> str:
    """A customer key as the communication server names customers: the value of a one-part
    key (``{"customer_id": 7}``: ``7``), else its pairs (``customer_id=7, contract=AB-12``)."""
    if len(key) == 1:
        return str(next(iter(key.values())))
    return ", ".join(f"{name}={value}" for name, value in key.items())


class PortalChat:
    """The web chat of the communication server ``comm`` (a client proxy) for the portal."""

    def __init__(self, comm: Any) -> None:
        self._comm = comm

    def available(self) -> bool:
        """Whether the communication server runs a web chat (False when it does not answer)."""
        try:
            return CHANNEL in self._comm.channels()
        except CarusoError:
            return False

    def link(self, user: User | None) -> str:
        """Where ``user`` starts a chat: with a pass naming their record for a customer,
        the plain chat page for anyone else. NotFound without a web chat."""
        if user is not None and user.customer:
            return self._comm.chat_pass(customer_reference(user.customer), user.name, CHANNEL)["url"]
        channels = self._comm.channels()
        if CHANNEL not in channels:
            raise NotFound("the communication server runs no web chat")
        return channels[CHANNEL]["url"] + "/"
