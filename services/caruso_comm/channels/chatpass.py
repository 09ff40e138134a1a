"""Chat passes: signed, short-lived, single-use proofs of who a web-chat customer is.

A portal where the customer has signed in asks the communication server for a pass
(``chat_pass`` of ``caruso.comm/1``) and sends the browser to the chat page with it; the
chat started with the pass carries the customer. The key that signs passes is made at
random by each channel instance and leaves its process only in a hot-swap's state (to the
successor, over the manager's authenticated connections), so only that instance and its
successors accept its passes (passes outstanding when the server restarts are refused;
the customer asks the portal again).

A pass reads ``PAYLOAD.MAC``: the payload is base64url JSON ``{"customer", "name",
"expires", "nonce"}``, the MAC its HMAC-SHA256. Nothing in a pass is decoded before its
MAC holds. A pass is refused after ``expires`` (``LIFETIME`` seconds after it was made)
and after its first use; the nonces used are kept until their passes expire.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import Any, Callable

from caruso_core.credentials import same
from caruso_core.errors import InvalidInput

LIFETIME = 300.0
MAX_PASS = 1024          # characters of a pass
MAX_CUSTOMER = 200
MAX_NAME = 80


class ChatPasses:
    """Issues and redeems the passes of one channel instance (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._key = secrets.token_bytes(32)
        self._clock = clock
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, customer: str, name: str) -> tuple[str, float]:
        """A pass naming ``customer`` (their key, as the interaction's customer) shown as
        ``name``, and when it expires (Unix time). InvalidInput for empty or long values."""
        if not isinstance(customer, str) or not 0 < len(customer.strip()) <= MAX_CUSTOMER:
            raise InvalidInput(f"a chat pass needs a customer of 1 to {MAX_CUSTOMER} characters")
        if not isinstance(name, str) or len(name) > MAX_NAME:
            raise InvalidInput(f"a chat pass's name has at most {MAX_NAME} characters")
        expires = self._clock() + LIFETIME
        payload = _encode(json.dumps({"customer": customer.strip(), "name": name.strip() or customer.strip(),
                                      "expires": expires, "nonce": secrets.token_hex(16)}).encode())
        return f"{payload}.{self._mac(payload)}", expires

    def redeem(self, presented: Any) -> dict[str, str]:
        """``{"customer", "name"}`` of a valid pass presented for the first time;
        InvalidInput (saying why) otherwise."""
        if not isinstance(presented, str) or len(presented) > MAX_PASS:
            raise InvalidInput("the chat pass is not one")
        payload, _, mac = presented.partition(".")
        if not same(mac, self._mac(payload)):
            raise InvalidInput("the chat pass is not valid here: open the chat from the portal again")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        now = self._clock()
        with self._lock:
            self._used = {nonce: until for nonce, until in self._used.items() if until > now}
            if claims["expires"] <= now:
                raise InvalidInput("the chat pass has expired: open the chat from the portal again")
            if claims["nonce"] in self._used:
                raise InvalidInput("the chat pass was used already: open the chat from the portal again")
            self._used[claims["nonce"]] = claims["expires"]
        return {"customer": claims["customer"], "name": claims["name"]}

    def export_state(self) -> dict[str, Any]:
        """The key and the passes used, for a successor (a hot-swap) to redeem the passes issued here."""
        with self._lock:
            return {"key": self._key.hex(), "used": dict(self._used)}

    def import_state(self, state: dict[str, Any]) -> None:
        with self._lock:
            self._key, self._used = bytes.fromhex(state["key"]), dict(state["used"])

    def _mac(self, payload: str) -> str:
        return _encode(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
