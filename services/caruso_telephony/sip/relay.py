"""The old instance's side of a drain swap on the wire: new dialogs go to the successor.

While an instance drains, it keeps the public SIP port, so phones and the trunk need
not know of the swap. Contract of :class:`Relay` (``intercept`` runs in the SIP loop
before sippy, after screening):

- ``off``: nothing is taken.
- ``closed`` (the instance exported its state, the successor's address is not known
  yet): requests outside the instance's own dialogs are dropped; the sender
  retransmits them (UDP) once the successor is known.
- ``forwarding``: requests outside the instance's own dialogs (``owns(call_id)``) are
  relayed statelessly (RFC 3261 section 16.11) to the successor, on the transport they
  came on: Max-Forwards less one, the sender's Via marked with ``received`` and
  ``rport``, a Via of this instance on top whose branch is derived from the sender's
  (a retransmission, its CANCEL and the ACK of a failure get the same one, so the
  successor matches them) and names the TCP connection it came on. A response whose
  top Via is such a Via loses it and goes on to the next Via (UDP) or on that
  connection (TCP). The successor's responses name its own address in Contact, so the
  dialog's later requests go to it directly.
"""
from __future__ import annotations

import collections
import hashlib
import itertools
import re
from typing import Any, Callable

from caruso_core.digits import digits
from caruso_telephony.sip.message import Message

MARKER = "z9hG4bKrly"
MAX_CONNECTIONS = 4096
VIA_ADDRESS = re.compile(r"^SIP */ *2\.0 */ *(\w+) +([^;:\s]+|\[[^\]]+\])(?::(\d+))?(.*)$")
PARAMETER = re.compile(r";\s*([^=;\s]+)(?:=([^;\s]*))?")


class Relay:
    def __init__(self, stack: Any, owns: Callable[[str], bool]) -> None:
        self.stack = stack
        self.owns = owns
        self.mode = "off"
        self.successor: dict[str, tuple[str, int]] = {}
        self._connections: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self._numbers = itertools.count(1)

    def close(self) -> None:
        self.mode = "closed"

    def open(self) -> None:
        self.mode = "off"

    def forward_to(self, successor: dict[str, tuple[str, int]]) -> None:
        """``successor``: ``{"udp": (host, port), "tcp": (host, port)}`` (tcp optional)."""
        self.successor = {name: (str(host), int(port)) for name, (host, port) in successor.items()}
        self.mode = "forwarding"

    def intercept(self, message: Message, _data: bytes, source: Any, transport: Any) -> bool:
        if self.mode == "off":
            return False
        if not message.is_request:
            return self._back(message)
        if self.owns(message.first("call-id") or ""):
            return False
        if self.mode == "forwarding":
            self._forward(message, source, transport)
        return True

    def _forward(self, message: Message, source: Any, transport: Any) -> None:
        kind = transport.transport
        hop = self.successor.get(kind)
        if hop is None:
            return
        if kind == "tcp":
            token = f"t{next(self._numbers)}"
            self._connections[token] = transport
            while len(self._connections) > MAX_CONNECTIONS:
                self._connections.popitem(last=False)
            onward = self.stack.tcp.route(hop)
        else:
            token, onward = "u", transport
        headers = list(message.headers)
        top = headers.index(("via", message.first("via")))
        sender = _mark(headers[top][1], source.address)
        digest = hashlib.sha1(sender.split(";branch=")[-1].encode("utf-8", "replace")).hexdigest()[:20]
        (host, port), _ = transport.getSIPaddr()
        headers[top] = ("via", sender)
        headers.insert(top, ("via", f"SIP/2.0/{kind.upper()} {host}:{port};branch={MARKER}{token}x{digest}"))
        forwards = message.first("max-forwards")
        if forwards is not None:
            headers[headers.index(("max-forwards", forwards))] = ("max-forwards", str(max(int(forwards) - 1, 0)))
        self.stack.send(onward, Message(message.start, headers, message.body).render(), hop)

    def _back(self, message: Message) -> bool:
        vias = message.all("via")
        branch = dict(PARAMETER.findall(vias[0])).get("branch", "")
        if not branch.startswith(MARKER):
            return False
        if len(vias) < 2:
            return True
        token = branch[len(MARKER):].split("x", 1)[0]
        headers = list(message.headers)
        headers.remove(("via", vias[0]))
        data = Message(message.start, headers, message.body).render()
        if token == "u":
            self.stack.send(self.stack.udp_transport(), data, _destination(vias[1]))
        else:
            connection = self._connections.get(token)
            if connection is not None and not connection.closed:
                self.stack.send(connection, data, connection.remote)
        return True


def _mark(via: str, source: tuple[str, int]) -> str:
    """The sender's Via with ``received`` and ``rport`` saying where it came from."""
    match = VIA_ADDRESS.match(via)
    parameters = [(name, value) for name, value in PARAMETER.findall(match.group(4) if match else "")
                  if name.lower() not in ("received", "rport")]
    parameters += [("received", source[0]), ("rport", str(source[1]))]
    head = via.split(";", 1)[0]
    return head + "".join(f";{name}={value}" if value else f";{name}" for name, value in parameters)


def _destination(via: str) -> tuple[str, int]:
    """Where a response goes back to by this Via: ``received``/``rport`` when set."""
    match = VIA_ADDRESS.match(via)
    if match is None:
        return "0.0.0.0", 0
    parameters = dict(PARAMETER.findall(match.group(4)))
    host = parameters.get("received") or match.group(2)
    port = parameters.get("rport") or match.group(3) or "5060"
    return host, int(port) if digits(port) else 5060
