"""The ng client against a fake rtpengine: retries with the same cookie, bounded waits, late
and foreign replies skipped, error replies as errors."""
from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator

import pytest

from caruso_core.errors import NotFound, Unavailable
from caruso_telephony import bencode
from caruso_telephony.media import MediaRefused
from caruso_telephony.media.ng import NgClient
from rtp_peers import close_waking_receiver

Reply = Callable[[bytes, dict], list[bytes]]


@pytest.fixture
def fake_rtpengine() -> Iterator[Callable[[Reply], tuple[int, list[bytes]]]]:
    """Starts a UDP server that answers each request with what ``reply(cookie, request)``
    returns (several datagrams, or none); yields its port and the cookies it received."""
    sockets: list[socket.socket] = []

    def start(reply: Reply) -> tuple[int, list[bytes]]:
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.bind(("127.0.0.1", 0))
        sockets.append(server)
        cookies: list[bytes] = []

        def serve() -> None:
            while True:
                try:
                    datagram, peer = server.recvfrom(65535)
                except OSError:
                    return
                if not datagram:   # shut down
                    return
                cookie, _, body = datagram.partition(b" ")
                cookies.append(cookie)
                for answer in reply(cookie, bencode.decode(body)):
                    server.sendto(answer, peer)

        threading.Thread(target=serve, daemon=True).start()
        return server.getsockname()[1], cookies

    yield start
    for server in sockets:
        close_waking_receiver(server)


def answer(cookie: bytes, reply: dict) -> bytes:
    return cookie + b" " + bencode.encode(reply)


def test_a_lost_request_is_sent_again_with_its_cookie(fake_rtpengine):
    def reply(cookie: bytes, request: dict) -> list[bytes]:
        return [answer(cookie, {"result": "pong"})] if len(cookies) == 3 else []
    port, cookies = fake_rtpengine(reply)
    assert NgClient(port, timeout=0.2, retries=2).request("ping") == {"result": "pong"}
    assert len(cookies) == 3 and len(set(cookies)) == 1


def test_no_answer_is_unavailable_after_the_retries(fake_rtpengine):
    port, cookies = fake_rtpengine(lambda cookie, request: [])
    with pytest.raises(Unavailable, match="did not answer 'ping'.*3 tries"):
        NgClient(port, timeout=0.1, retries=2).request("ping")
    assert len(cookies) == 3
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    nobody = closed.getsockname()[1]
    closed.close()
    with pytest.raises(Unavailable):
        NgClient(nobody, timeout=0.1, retries=1).request("ping")


def test_replies_to_other_cookies_and_garbage_are_skipped(fake_rtpengine):
    port, _ = fake_rtpengine(lambda cookie, request: [b"garbage", answer(b"other", {"result": "ok", "sdp": "x"}),
                                                      answer(cookie, {"result": "ok", "sdp": request["sdp"]})])
    assert NgClient(port, timeout=1, retries=0).request("offer", {"sdp": "mine"})["sdp"] == "mine"


def test_error_replies_raise_named_errors(fake_rtpengine):
    reasons = iter(["Unknown call-ID", "Ran out of ports"])
    port, _ = fake_rtpengine(lambda cookie, request: [answer(cookie, {"result": "error",
                                                                      "error-reason": next(reasons)})])
    client = NgClient(port, timeout=1, retries=0)
    with pytest.raises(NotFound, match="'gone'"):
        client.request("query", {"call-id": "gone"})
    with pytest.raises(MediaRefused, match="rtpengine refused 'offer': Ran out of ports"):
        client.request("offer", {"call-id": "new"})
    port, _ = fake_rtpengine(lambda cookie, request: [cookie + b" d6:result2:oke-trailing"])
    with pytest.raises(MediaRefused, match="unreadable reply"):
        NgClient(port, timeout=1, retries=0).request("ping")
