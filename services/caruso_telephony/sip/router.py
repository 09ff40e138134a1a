"""Where a request out of any dialog goes (sippy's request callback, in the SIP loop).

Contract of :meth:`Router.route`: a request naming a dialog (To tag) sippy does not know
gets 481; REGISTER goes to the registrar, INVITE to ``incoming`` (the switchboard),
OPTIONS gets 200 with what caruso accepts; other methods get 405 (known to SIP) or 501.
"""
from __future__ import annotations

from typing import Any, Callable

from caruso_telephony.sip.fields import respond

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE"
KNOWN = {"INFO", "MESSAGE", "NOTIFY", "PRACK", "PUBLISH", "REFER", "SUBSCRIBE", "UPDATE"}


class Router:
    """``register(request, source_ip)`` and ``incoming(request, transaction)`` return what
    sippy sends."""

    def __init__(self, register: Callable[[Any, str], Any], incoming: Callable[[Any, Any], Any]) -> None:
        self.register = register
        self.incoming = incoming

    def route(self, request: Any, transaction: Any) -> Any:
        method = request.getMethod()
        if request.getHFBody("to").getTag() is not None:
            return respond(request, 481, "Call/Transaction Does Not Exist")
        if method == "REGISTER":
            return self.register(request, request.getSource()[0])
        if method == "INVITE":
            return self.incoming(request, transaction)
        if method == "OPTIONS":
            return respond(request, 200, "OK", ("Allow", ALLOW), ("Accept", "application/sdp"))
        if method in KNOWN:
            return respond(request, 405, "Method Not Allowed", ("Allow", ALLOW))
        return respond(request, 501, "Not Implemented")
