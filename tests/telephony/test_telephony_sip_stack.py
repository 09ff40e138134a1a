"""The SIP stack on its own (sippy in a thread of the test process) and its transports:
attacks first (malformed, oversized, slow, floods), then that good traffic goes through."""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Iterator

import pytest

from caruso_core.errors import ConfigError
from caruso_core.testing import eventually
from caruso_telephony.sip.stack import SipStack
from caruso_telephony.sip.tcp import TcpLimits, TcpTransport
from sip_peers import Sipp, UdpProbe, free_port, request, status

LIMITS = TcpLimits(message_seconds=1.0, idle_seconds=3.0, per_address=4)


@pytest.fixture
def stack() -> Iterator[SipStack]:
    sip = SipStack("127.0.0.1", log=logging.getLogger("test.sip"), max_transactions=5)

    def on_request(request, transaction):
        if request.getMethod() == "INVITE":
            return None                           # never answered: the transaction stays
        return request.genResponse(200, "OK"), None, None

    sip.start(0, on_request, lambda owner: TcpTransport(owner, LIMITS))
    try:
        yield sip
    finally:
        sip.stop()


def target(sip: SipStack) -> str:
    return f"sip:100@127.0.0.1:{sip.port}"


def udp_exchange(sip: SipStack, data: bytes, wait: float = 2.0) -> list[str]:
    probe = UdpProbe()
    try:
        probe.send(data, ("127.0.0.1", sip.port))
        return probe.responses(wait, until=200)
    finally:
        probe.close()


def tcp_connection(sip: SipStack) -> socket.socket:
    return socket.create_connection(("127.0.0.1", sip.port), timeout=5)


def read_responses(connection: socket.socket, count: int) -> list[str]:
    data = b""
    while data.count(b"SIP/2.0 ") < count:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return ["SIP/2.0 " + part for part in data.decode().split("SIP/2.0 ")[1:]]


def closed(connection: socket.socket) -> bool:
    try:
        return connection.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_malformed_requests_over_udp_get_4xx_and_a_good_one_in_between_its_200(stack):
    probe = UdpProbe()
    bad = [request("OPTIONS", target(stack), port=probe.port, headers={"Call-ID": None}),
           request("OPTIONS", target(stack), port=probe.port, headers={"X-Huge": "h" * 4000}),
           request("INVITE", target(stack), port=probe.port, body="v=0\r\nnonsense\r\n"),
           request("OPTIONS", target(stack), port=probe.port, length=300)]
    for data in bad[:2]:
        probe.send(data, ("127.0.0.1", stack.port))
    probe.send(request("OPTIONS", target(stack), port=probe.port), ("127.0.0.1", stack.port))
    for data in bad[2:]:
        probe.send(data, ("127.0.0.1", stack.port))
    answers = sorted(status(answer) for answer in probe.responses(2.0))
    probe.close()
    assert answers == [200, 400, 400, 400, 400]


def test_beyond_max_transactions_new_requests_get_503_with_retry_after(stack):
    probe = UdpProbe()
    for _ in range(5):
        probe.send(request("INVITE", target(stack), port=probe.port, body="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                           "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), ("127.0.0.1", stack.port))
    eventually(lambda: stack.transactions() >= 5, what="5 INVITE transactions held")
    answers = udp_exchange(stack, request("OPTIONS", target(stack), port=probe.port))
    probe.close()
    assert status(answers[-1]) == 503 and "Retry-After: 5" in answers[-1]


def test_tcp_cuts_pipelined_requests_by_content_length_and_answers_keep_alives(stack):
    connection = tcp_connection(stack)
    port = connection.getsockname()[1]
    connection.sendall(request("OPTIONS", target(stack), port=port, transport="TCP")
                       + request("OPTIONS", target(stack), port=port, transport="TCP"))
    assert [status(answer) for answer in read_responses(connection, 2)] == [200, 200]
    connection.sendall(b"\r\n\r\n")
    assert connection.recv(16) == b"\r\n"
    connection.close()


def test_tcp_without_content_length_gets_400_and_is_closed(stack):
    connection = tcp_connection(stack)
    data = request("OPTIONS", target(stack), port=connection.getsockname()[1], transport="TCP")
    connection.sendall(data.replace(b"Content-Length: 0\r\n", b""))
    assert status(read_responses(connection, 1)[0]) == 400
    assert closed(connection)


def test_tcp_oversized_message_gets_513_and_is_closed(stack):
    connection = tcp_connection(stack)
    data = request("OPTIONS", target(stack), port=connection.getsockname()[1], transport="TCP", length=100000)
    connection.sendall(data)
    assert status(read_responses(connection, 1)[0]) == 513
    assert closed(connection)


def test_tcp_a_message_sent_too_slowly_closes_the_connection(stack):
    connection = tcp_connection(stack)
    data = request("OPTIONS", target(stack), port=connection.getsockname()[1], transport="TCP")
    connection.sendall(data[:40])
    started = time.monotonic()
    assert closed(connection)                     # recv returns once the transport closed it
    assert time.monotonic() - started >= LIMITS.message_seconds - 0.2


def test_tcp_connections_from_one_address_are_bounded(stack):
    connections = [tcp_connection(stack) for _ in range(LIMITS.per_address)]
    eventually(lambda: stack.tcp.connections() == LIMITS.per_address, what="connections accepted")
    extra = tcp_connection(stack)
    assert closed(extra)
    for connection in connections:
        connection.close()


def test_an_idle_tcp_connection_is_closed(stack):
    connection = tcp_connection(stack)
    assert closed(connection)


def test_a_second_stack_in_the_process_is_refused(stack):
    with pytest.raises(ConfigError, match="one per process"):
        SipStack("127.0.0.1", log=logging.getLogger("test.sip")).start(0, lambda *_: None)


def test_a_stopped_stack_leaves_no_thread_and_frees_its_ports():
    before = {thread.ident for thread in threading.enumerate()}
    port = free_port()
    for _ in range(2):                      # and sippy's loop starts again in the same process
        sip = SipStack("127.0.0.1", log=logging.getLogger("test.sip"))
        sip.start(port, lambda request, _: (request.genResponse(200, "OK"), None, None), TcpTransport)
        assert status(udp_exchange(sip, request("OPTIONS", f"sip:x@127.0.0.1:{port}", port=1))[0]) == 200
        sip.stop()
    eventually(lambda: {thread.ident for thread in threading.enumerate()} <= before, what="threads gone")
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as again:
            again.bind(("127.0.0.1", port))


def test_a_stack_that_could_not_start_says_why_stops_quietly_and_starts_again():
    """A taken port fails the start with the system's reason; the stack that did not start
    can be stopped (as a service stopping after a failed start does) and another starts."""
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))
        failed = SipStack("127.0.0.1", log=logging.getLogger("test.sip"))
        with pytest.raises(OSError, match="in use"):
            failed.start(port, lambda *_: None)
        failed.stop()
    sip = SipStack("127.0.0.1", log=logging.getLogger("test.sip"))
    sip.start(port, lambda request, _: (request.genResponse(200, "OK"), None, None))
    try:
        assert status(udp_exchange(sip, request("OPTIONS", f"sip:x@127.0.0.1:{port}", port=1))[0]) == 200
    finally:
        sip.stop()


def test_listen_adds_a_port_requests_then_leave_from(stack):
    port = free_port()
    first = stack.port
    stack.listen(port)
    assert stack.ports() == [port, first]
    assert status(udp_exchange(stack, request("OPTIONS", f"sip:x@127.0.0.1:{port}", port=1))[0]) == 200
    with pytest.raises(OSError):
        stack.listen(port)


def test_a_sipp_whose_free_port_was_taken_before_it_bound_it_starts_on_another(tmp_path):
    """The test kit's own SIPp helper: another process may bind a port between the check that
    found it free and SIPp's start; SIPp then exits, and it is started again elsewhere."""
    phone = Sipp("phone_answers.xml", tmp_path)
    taken = phone.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", taken))
        phone.start()
    try:
        assert phone.port != taken and phone.process.poll() is None, phone.log()
        assert "Unable to bind" in (tmp_path / f"phone_answers-{taken}.out").read_text()
    finally:
        phone.stop()
