"""The SIP trunk: the numbers it answers, where outbound calls go, and what their SIP
outcomes mean.

Contract: :class:`Trunk` is checked when made (ConfigError naming the setting). A number
is ``+`` and 1 to 32 digits, ``*`` or ``#`` (:func:`check_number`). Outbound INVITEs go to
``address`` (``host:port``) over ``transport`` with Request-URI and To
``sip:NUMBER@domain`` (``domain`` defaults to the address's host), From the caller id,
and answer the provider's 401/407 challenges with ``username``/``password`` when given.
:func:`outcome` maps a final SIP status to the result of an outbound call.
"""
from __future__ import annotations

import re
from typing import Any

import attrs

from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.digits import digits

NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
CALLER_ID = re.compile(r"^[A-Za-z0-9+*#._-]{1,32}$")
OUTCOMES = {486: "busy", 600: "busy", 603: "busy", 408: "no_answer", 480: "no_answer", 487: "no_answer",
            404: "invalid", 410: "invalid", 484: "invalid", 485: "invalid", 604: "invalid"}


def check_number(number: Any, what: str = "number") -> str:
    if not isinstance(number, str) or not NUMBER.match(number):
        raise InvalidInput(f"{what} {number!r:.40} is not '+' and 1 to 32 digits, '*' or '#'")
    return number


def check_caller_id(caller_id: Any) -> str:
    if not isinstance(caller_id, str) or not CALLER_ID.match(caller_id):
        raise InvalidInput(f"caller id {caller_id!r:.40} is not 1 to 32 letters, digits or + * # . _ -")
    return caller_id


def outcome(code: int) -> str:
    """``answered`` (2xx), ``busy`` (486, 600, 603), ``no_answer`` (408, 480, 487: also a call
    that rang too long), ``invalid`` (404, 410, 484, 485, 604) or ``failed`` (anything else)."""
    if 200 <= code < 300:
        return "answered"
    return OUTCOMES.get(code, "failed")


def _address(value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    host, _, port = str(value).rpartition(":")
    if not host or not digits(port) or not 0 < int(port) < 65536:
        raise ConfigError(f"trunk address {value!r} is not host:port")
    return host, int(port)


@attrs.frozen(kw_only=True)
class Trunk:
    numbers: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset)
    address: tuple[str, int] | None = attrs.field(default=None, converter=_address)
    transport: str = "udp"
    domain: str | None = None
    username: str | None = attrs.field(default=None, repr=False)
    password: str | None = attrs.field(default=None, repr=False)
    caller_id: str = "caruso"

    def __attrs_post_init__(self) -> None:
        for number in self.numbers:
            if not isinstance(number, str) or not NUMBER.match(number):
                raise ConfigError(f"telephony number {number!r} is not '+' and 1 to 32 digits, '*' or '#'")
        if self.transport not in ("udp", "tcp"):
            raise ConfigError(f"trunk transport {self.transport!r} is not udp or tcp")
        if (self.username is None) != (self.password is None):
            raise ConfigError("trunk username and password go together")
        if not CALLER_ID.match(self.caller_id):
            raise ConfigError(f"trunk caller_id {self.caller_id!r} is not 1 to 32 letters, digits or + * # . _ -")

    @property
    def outbound(self) -> bool:
        return self.address is not None

    def request_uri(self, number: str) -> str:
        if self.address is None:
            raise InvalidInput("no trunk address is configured for outbound calls")
        return f"sip:{check_number(number)}@{self.domain or self.address[0]}"

    def next_hop(self) -> tuple[tuple[str, int], str]:
        assert self.address is not None
        return self.address, self.transport

    def credentials(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username is not None else None
