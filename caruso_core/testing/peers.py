"""Raw peers: what a stranger can send a caruso daemon, for attack tests and benchmarks.

Everything here speaks bytes on a socket, below caruso's and Pyro5's clients, so that
a test can send what no honest client would: another serializer, a compressed bomb,
a lie about a message's size, half a header, nothing at all, a replayed handshake.
"""
from __future__ import annotations

import select
import socket
import struct
import threading
import time
from typing import Iterable

import Pyro5.api
from Pyro5 import protocol, serializers

from caruso_core import handshake

SERPENT = serializers.serializers["serpent"].serializer_id
MARSHAL = serializers.serializers["marshal"].serializer_id
JSON = serializers.serializers["json"].serializer_id


def address(uri: str) -> tuple[str, int]:
    parsed = Pyro5.api.URI(uri)
    return parsed.host, parsed.port


def message(kind: int, payload: bytes = b"", *, serializer: int = SERPENT, flags: int = 0, seq: int = 0,
            annotations: dict[str, bytes] | None = None, claimed_size: int | None = None) -> bytes:
    """A Pyro5 message as bytes; ``claimed_size`` makes its header lie about the payload's size."""
    chunks = b"".join(struct.pack("!4sI", key.encode(), len(value)) + value
                      for key, value in (annotations or {}).items())
    size = len(payload) if claimed_size is None else claimed_size
    header = struct.pack("!4sHBBHHII16sHH", b"PYRO", protocol.PROTOCOL_VERSION, kind, serializer, flags, seq,
                         size, len(chunks), b"\0" * 16, 0, 0x4DC5)
    return header + chunks + payload


def handshake_message(object_id: str, *, secret: str | None = None, port: int = 0,
                      proof: bytes | None = None, **options: object) -> bytes:
    """An honest-looking serpent handshake for ``object_id``, proving ``secret`` for ``port``
    (or carrying ``proof`` as it is)."""
    payload = serializers.serializers["serpent"].dumps({"handshake": None, "object": object_id})
    if proof is None and secret is not None:
        proof = handshake.proof(secret, port)
    annotations = {handshake.ANNOTATION: proof} if proof is not None else None
    return message(protocol.MSG_CONNECT, payload, annotations=annotations, **options)  # type: ignore[arg-type]


def answer(sock: socket.socket, timeout: float = 10.0) -> str:
    """What the daemon answered: ``"accepted"``, ``"refused: REASON"`` or ``"closed"``."""
    sock.settimeout(timeout)
    try:
        header = _read(sock, 40)
        reply = protocol.ReceivingMessage(header)
        body = _read(sock, reply.annotations_size + reply.data_size)[reply.annotations_size:]
    except (ConnectionError, EOFError):
        return "closed"
    if reply.type == protocol.MSG_CONNECTOK:
        return "accepted"
    return f"refused: {serializers.serializers_by_id[reply.serializer_id].loads(body)}"


def receive(sock: socket.socket) -> protocol.ReceivingMessage | None:
    """The next whole message the peer sent on ``sock`` (its payload read and dropped);
    None once the peer hung up."""
    try:
        message = protocol.ReceivingMessage(_read(sock, 40))
        _read(sock, message.annotations_size + message.data_size)
    except (ConnectionError, EOFError):
        return None
    return message


def impostor(replies: list[bytes], object_id: str) -> str:
    """A listener on 127.0.0.1 that takes one connection, answers each message it reads with
    the next of ``replies`` (raw bytes), then reads on in silence until the peer hangs up;
    the URI of ``object_id`` there."""
    listening = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        sock, _ = listening.accept()
        with sock, listening:
            for reply in replies:
                if receive(sock) is None:
                    return
                sock.sendall(reply)
            while sock.recv(65536):
                pass

    threading.Thread(target=serve, daemon=True).start()
    return f"PYRO:{object_id}@127.0.0.1:{listening.getsockname()[1]}"


def connect_ok(methods: Iterable[str]) -> bytes:
    """A daemon's serpent CONNECTOK for an object with ``methods``."""
    meta = {"methods": sorted(methods), "attrs": [], "oneway": []}
    return message(protocol.MSG_CONNECTOK, serializers.serializers["serpent"].dumps(
        {"handshake": "caruso", "meta": meta}))


def send(uri: str, data: bytes, timeout: float = 10.0) -> str:
    """Open a connection, send ``data``, return the daemon's :func:`answer`."""
    with socket.create_connection(address(uri), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except ConnectionError:
            return "closed"
        return answer(sock, timeout)


def hold_open(uri: str, count: int) -> list[socket.socket]:
    """``count`` connections that never send a byte."""
    return [socket.create_connection(address(uri), timeout=10) for _ in range(count)]


def closed_by_peer(sockets: Iterable[socket.socket], timeout: float) -> list[socket.socket]:
    """Wait up to ``timeout`` until the daemon has closed every socket; the ones it closed."""
    waiting = {sock.fileno(): sock for sock in sockets}
    poller = select.poll()
    for descriptor in waiting:
        poller.register(descriptor, select.POLLIN)
    closed = []
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for descriptor, _ in poller.poll(max(deadline - time.monotonic(), 0) * 1000):
            sock = waiting.pop(descriptor)
            poller.unregister(descriptor)
            try:
                data = sock.recv(1)
            except ConnectionError:
                data = b""
            if not data:
                closed.append(sock)
    return closed


def memory(pid: int) -> tuple[int, int]:
    """Resident and peak resident memory of process ``pid``, in bytes (Linux)."""
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data
