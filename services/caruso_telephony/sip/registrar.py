"""The registrar of the agents' phones (RFC 3261 section 10) with digest authentication (RFC 2617).

Contract of :meth:`Registrar.handle` (a REGISTER sippy parsed, in the SIP loop thread):

- a source address (IP) with ``failures`` failed authentications within ``window``
  seconds gets 403 with Retry-After until the window has passed, whatever it sends;
- without credentials: 401 with a fresh challenge (MD5, qop=auth; a nonce lives 32 s);
  a stale nonce: 401 with ``stale=true``; these are not failures;
- credentials for another user name, realm or account than the To URI's, a wrong
  response, a replayed nonce count, a third-party registration or unreadable
  credentials: 403, counted as a failure of the source;
- authenticated: each Contact is bound for its ``expires`` parameter, else the Expires
  field, else ``default_expires`` seconds, at most ``max_expires``; 0 removes it, ``*``
  with Expires 0 removes all; between 0 and ``min_expires``: 423 with Min-Expires.
  The 200 lists the live contacts with their expiry.
"""
from __future__ import annotations

import collections
import time
from typing import Any

from sippy.Security.SipNonce import HashOracle
from sippy.SipAuthorization import SipAuthorization
from sippy.SipHeader import SipHeader
from sippy.SipWWWAuthenticate import SipWWWAuthenticate

from caruso_core.throttle import Throttle
from caruso_core.digits import digits
from caruso_telephony.phones import Phones
from caruso_telephony.sip.fields import respond

NONCE_LIFE = 32.0
MAX_NONCES = 20000


class Registrar:
    """See the module's contract."""

    def __init__(self, phones: Phones, *, default_expires: int = 3600, min_expires: int = 60,
                 max_expires: int = 7200, failures: int = 10, window: float = 60.0) -> None:
        self.phones = phones
        self.default_expires = default_expires
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.throttle = Throttle(failures, window)
        self._oracle = HashOracle()
        self._counts: collections.OrderedDict[str, tuple[int, float]] = collections.OrderedDict()

    def handle(self, request: Any, source_ip: str) -> Any:
        """The response to a REGISTER from ``source_ip``."""
        wait = self.throttle.wait(source_ip)
        if wait > 0:
            return respond(request, 403, "Forbidden", ("Retry-After", str(int(wait) + 1)))
        user = request.getHFBody("to").getUrl().username
        if not user or request.getHFBody("from").getUrl().username != user:
            return self._fail(request, source_ip, "Third-Party Registration Not Allowed")
        if request.countHFs("authorization") == 0:
            return self._challenge(request)
        try:
            credentials: SipAuthorization = request.getHFBody("authorization")
            credentials.parse()
        except Exception:       # sippy's parser on unreadable credentials
            return self._fail(request, source_ip, "Unreadable Credentials")
        account = self.phones.account(user)
        if (account is None or credentials.username != user or credentials.realm != self.phones.realm
                or not credentials.uri or credentials.algorithm not in (None, "MD5")):
            return self._fail(request, source_ip, "Forbidden")
        if not self._oracle.validate_challenge(credentials.nonce or "", (1,)):
            return self._challenge(request, stale=True)
        if not credentials.verifyHA1(account.ha1.encode(), "REGISTER", None) or not self._fresh(credentials):
            return self._fail(request, source_ip, "Forbidden")
        return self._bind(request, user, source_ip)

    def _challenge(self, request: Any, stale: bool = False) -> Any:
        challenge = SipWWWAuthenticate(realm=self.phones.realm, algorithm="MD5")
        if stale:
            challenge.otherparams.append(("stale", "true"))
        response, _, _ = respond(request, 401, "Unauthorized")
        response.appendHeader(SipHeader(name="www-authenticate", body=challenge))
        return response, None, None

    def _fail(self, request: Any, source_ip: str, reason: str) -> Any:
        self.throttle.hit(source_ip)
        return respond(request, 403, reason)

    def _fresh(self, credentials: SipAuthorization) -> bool:
        """Whether this nonce and nonce count were not used before (a replay is refused);
        without qop a nonce serves once."""
        now = time.monotonic()
        while self._counts and (len(self._counts) > MAX_NONCES
                                or next(iter(self._counts.values()))[1] < now - NONCE_LIFE):
            self._counts.popitem(last=False)
        try:
            count = int(credentials.nc, 16) if credentials.qop else 0
        except (TypeError, ValueError):
            return False
        last = self._counts.get(credentials.nonce)
        if last is not None and count <= last[0]:
            return False
        self._counts[credentials.nonce] = (count, last[1] if last else now)
        return True

    def _bind(self, request: Any, user: str, source_ip: str) -> Any:
        default = self.default_expires
        if request.countHFs("expires"):
            default = request.getHFBody("expires").getNum()
        changes: dict[str, int] = {}
        for contact in request.getHFBodys("contact"):
            if contact.asterisk:
                if default != 0 or request.countHFs("contact") != 1:
                    return respond(request, 400, "Contact * Needs Expires 0 Alone")
                self.phones.unregister_all(user)
                return respond(request, 200, "OK")
            expires = contact.address.getParam("expires")
            seconds = int(expires) if expires is not None and digits(expires) else default
            if 0 < seconds < self.min_expires:
                return respond(request, 423, "Interval Too Brief", ("Min-Expires", str(self.min_expires)))
            changes[str(contact.getUrl())] = min(seconds, self.max_expires)
        live = self.phones.register(user, changes, source_ip)
        return respond(request, 200, "OK", *(("Contact", f"<{contact}>;expires={left}") for contact, left in live))

