"""Header fields caruso adds to the messages sippy sends, spelled as RFC 3261 spells them.

sippy writes a header it has no class for as ``Name.capitalize()`` (``Session-expires``,
``Retry-after``); names are case-insensitive, yet some peers (SIPp among them) match
them case-sensitively. Contract: :func:`field` makes a header written with the name as
given; :func:`respond` is the answer sippy sends on a request's transaction (what its
request callback returns), with such fields.
"""
from __future__ import annotations

from typing import Any

from sippy.SipGenericHF import SipGenericHF
from sippy.SipHeader import SipHeader


class _Spelled(SipGenericHF):
    def __init__(self, value: str, name: str) -> None:
        super().__init__(value, name.lower())
        self.spelling = name

    def getCanName(self, name: str, compact: bool = False) -> str:
        return self.spelling

    def getCopy(self) -> "_Spelled":
        return _Spelled(self.body, self.spelling)


def field(name: str, value: str) -> SipHeader:
    """A header field ``name: value``, written with ``name`` as given."""
    return SipHeader(name=name.lower(), body=_Spelled(value, name))


def respond(request: Any, code: int, reason: str, *fields: tuple[str, str]) -> tuple[Any, None, None]:
    """A response to ``request`` with extra ``(name, value)`` fields, as sippy's request
    callback returns it."""
    response = request.genResponse(code, reason)
    for name, value in fields:
        response.appendHeader(field(name, value))
    return response, None, None
