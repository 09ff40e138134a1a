"""Provides the standard dialers through the ``caruso_dialers`` hook: ``sim`` (simulated) and
``sip`` (real calls through the telephony component)."""
from __future__ import annotations

from typing import Any, Callable

from caruso_core import hookimpl

from caruso_comm.dialer import DialerContext
from caruso_comm.dialers.sim import SimDialer
from caruso_comm.dialers.sip import SipDialer


def simulated(context: DialerContext, **settings: Any) -> SimDialer:
    """A simulated telephone network on the server's timers."""
    return SimDialer(context.timers, **settings)


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_dialers() -> dict[str, Callable[..., Any]]:
    return {"sim": simulated, "sip": SipDialer}
