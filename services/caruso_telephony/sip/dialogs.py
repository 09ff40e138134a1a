"""One SIP dialog of a call (the caller's, or a leg's), as the call sees it.

Contract: a :class:`Dialog` wraps one sippy ``UA`` and lives in the SIP loop thread: it is
made and driven there only (the call goes through the stack's ``run``/``post``), and it
reports there, to ``report(dialog, kind, data)``:

=========== ========================================================================
``offer``   the caller's INVITE (``sdp``, ``caller``, ``caller_name``, ``to``)
``ringing`` a leg rings (``code``, ``sdp``: early media or None)
``answered`` a leg answered (``sdp``)
``failed``  a leg did not connect (``code``, ``reason``)
``update``  the other side sent a new offer in a re-INVITE (``sdp``); answer it with
            :meth:`Dialog.accept_update` or :meth:`Dialog.refuse_update`
``ended``   the other side hung up, or cancelled its INVITE
``gone``    sippy forgot the dialog (32 s after its end): retransmissions are over
=========== ========================================================================

What the call does itself (hang up, cancel, refuse) is not reported back, except ``gone``.
SDP goes in and out as text.
"""
from __future__ import annotations

from typing import Any, Callable

from sippy.CCEvents import (CCEventConnect, CCEventDisconnect, CCEventFail, CCEventPreConnect, CCEventRedirect,
                            CCEventRing, CCEventTry, CCEventUpdate)
from sippy.MsgBody import MsgBody
from sippy.SipAddress import SipAddress
from sippy.SipContact import SipContact
from sippy.SipTo import SipTo
from sippy.SipURL import SipURL
from sippy.UA import UA

from caruso_telephony.sip.fields import field
from caruso_telephony.sip.message import canonical
from caruso_telephony.sip.sessiontimer import SessionTimer

Report = Callable[["Dialog", str, dict[str, Any]], None]


def _text(body: Any) -> str | None:
    return None if body is None else body.localStr()


def _headers(fields: list[tuple[str, str]]) -> tuple[Any, ...] | None:
    return tuple(field(canonical(name), value) for name, value in fields) or None


class _Try(CCEventTry):
    """An INVITE to an exact Request-URI (a registered contact) with its own To."""

    def __init__(self, data: tuple[Any, ...], request_uri: str, to_uri: str | None) -> None:
        super().__init__(data)
        self.request_uri = request_uri
        self.to_uri = to_uri

    def onUacSetupComplete(self, ua: UA) -> None:
        ua.rTarget = SipURL(self.request_uri)
        if self.to_uri:
            ua.rUri = SipTo(address=SipAddress(url=SipURL(self.to_uri), hadbrace=True))


class Dialog:
    """See the module's contract. ``session``: the caller's session timer, if any."""

    def __init__(self, global_config: dict[str, Any], report: Report, *, credentials: tuple[str, str] | None = None,
                 next_hop: tuple[tuple[str, int], str] | None = None) -> None:
        self.report = report
        self.session: SessionTimer | None = None
        self.ending = False
        self.local_sdp: str | None = None
        self.remote_sdp: str | None = None
        username, password = credentials or (None, None)
        options: dict[str, Any] = {}
        if next_hop is not None:
            options.update(nh_address=next_hop[0], nh_transport=next_hop[1])
        self.ua = UA(global_config, self._event, username=username, password=password, dead_cbs=(self._dead,),
                     **options)
        self.ua.lContact = SipContact()
        self.ua.lContact.getUri().name = None       # sippy's "Anonymous" misleads naive peers

    @property
    def call_id(self) -> str:
        return str(self.ua.cId)

    @property
    def connected(self) -> bool:
        return self.ua.isConnected()

    @property
    def over(self) -> bool:
        return self.ending or self.ua.isDead() or self.ua.state is not None and self.ua.state.sname in (
            "Disconnected", "Failed", "Dead")

    # -- starting -------------------------------------------------------------------------------

    def receive(self, request: Any, transaction: Any) -> Any:
        """Take the caller's INVITE (sippy's request callback result)."""
        return self.ua.recvRequest(request, transaction)

    def invite(self, request_uri: str, sdp: str, *, caller: str, caller_name: str | None = None,
               to_uri: str | None = None) -> None:
        """Send the INVITE of a leg to ``request_uri`` (the next hop was given when made)."""
        self.local_sdp = sdp
        self.ua.recvEvent(_Try((None, caller, SipURL(request_uri).username, MsgBody(sdp), None, caller_name),
                               request_uri, to_uri))

    # -- the caller's side ---------------------------------------------------------------------

    def ring(self) -> None:
        self.ua.recvEvent(CCEventRing((180, "Ringing", None)))

    def answer(self, sdp: str) -> None:
        self.local_sdp = sdp
        event = CCEventConnect((200, "OK", MsgBody(sdp)))
        event.extra_headers = _headers(self.session.headers()) if self.session else None
        if self.session and self.session.refresher == "uas":
            self.ua.kaInterval = self.session.interval / 2
        self.ua.recvEvent(event)

    def reject(self, code: int, reason: str, fields: list[tuple[str, str]] = ()) -> None:
        """Refuse the caller's INVITE before it was answered."""
        self.ending = True
        event = CCEventFail((code, reason))
        event.extra_headers = _headers(list(fields))
        self.ua.recvEvent(event)

    def accept_update(self, sdp: str) -> None:
        self.local_sdp = sdp
        event = CCEventConnect((200, "OK", MsgBody(sdp)))
        event.extra_headers = _headers(self.session.headers()) if self.session else None
        self.ua.recvEvent(event)

    def refuse_update(self, code: int = 488, reason: str = "Not Acceptable Here") -> None:
        self.ua.recvEvent(CCEventFail((code, reason)))

    # -- ending ---------------------------------------------------------------------------------

    def hangup(self, code: int = 480, reason: str = "Temporarily Unavailable") -> None:
        """End the dialog whatever its state: BYE, CANCEL, or ``code`` to an unanswered caller."""
        if self.over:
            return
        if self.ua.state is not None and self.ua.state.sname.endswith("(UAS)") and not self.connected:
            self.reject(code, reason)
            return
        self.ending = True
        self.ua.disconnect()

    # -- what sippy tells ----------------------------------------------------------------------

    def _event(self, event: Any, _ua: UA) -> None:
        if isinstance(event, CCEventTry):
            _, caller, called, body, _, caller_name = event.getData()
            self.remote_sdp = _text(body)
            self.report(self, "offer", {"sdp": self.remote_sdp, "caller": caller, "caller_name": caller_name,
                                        "to": called})
        elif isinstance(event, CCEventRing):
            code, _, body = event.getData()
            if code != 100:
                self.report(self, "ringing", {"code": code, "sdp": _text(body)})
        elif isinstance(event, (CCEventConnect, CCEventPreConnect)):
            code, _, body = event.getData()
            if code != "ACK":
                self.remote_sdp = _text(body) or self.remote_sdp
                self.report(self, "answered", {"sdp": self.remote_sdp})
        elif isinstance(event, (CCEventFail, CCEventRedirect)):
            if not self.ending:
                self.ending = True
                code, reason = event.getData()[:2]
                self.report(self, "failed", {"code": code, "reason": reason})
        elif isinstance(event, CCEventUpdate):
            self.remote_sdp = _text(event.getData())
            self.report(self, "update", {"sdp": self.remote_sdp})
        elif isinstance(event, CCEventDisconnect) and not self.ending:
            self.ending = True
            self.report(self, "ended", {})

    def _dead(self, *_: Any) -> None:
        self.report(self, "gone", {})
