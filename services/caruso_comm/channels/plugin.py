"""Provides the standard channels through the ``caruso_channels`` hook."""
from __future__ import annotations

from caruso_core import hookimpl


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_channels() -> dict[str, type]:
    from caruso_comm.channels.mail import EmailChannel
    from caruso_comm.channels.sim import SimTraffic
    from caruso_comm.channels.voice import VoiceChannel
    from caruso_comm.channels.webchat import WebChat
    return {"webchat": WebChat, "email": EmailChannel, "sim": SimTraffic, "voice": VoiceChannel}
