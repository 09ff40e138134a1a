"""Provides the standard channels through the ``caruso_channels`` hook."""
from __future__ import annotations

from caruso_core import hookimpl

from caruso_channels.mail import EmailChannel
from caruso_channels.sim import SimTraffic
from caruso_channels.webchat import WebChat


@hookimpl
def caruso_channels() -> dict[str, type]:
    return {"webchat": WebChat, "email": EmailChannel, "sim": SimTraffic}
