"""The wire: nothing an unauthenticated peer sends may stall or bloat a daemon.

Every test attacks a real manager and a real host (subprocesses on 127.0.0.1) with raw
bytes, and checks that the attack is refused before anything is decoded and that an
honest client is served meanwhile. The daemons run with short handshake and idle
timeouts (1 s and 2 s) so that the tests do not wait long for them.
"""
import socket
import threading
import time
import zlib

import pytest
from Pyro5 import protocol

from caruso_core import CallTimedOut, connect, credentials, handshake
from caruso_core.testing import peers

SHORT = {"CARUSO_HANDSHAKE_TIMEOUT": "1", "CARUSO_IDLE_TIMEOUT": "2"}


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch):
    for key, value in SHORT.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def daemons(caruso_manager_process, caruso_host):
    """(uri, object id, pid) of the manager and of a host of the counter, each a process."""
    host = caruso_host("sample_services:Counter", process=True)
    return [(caruso_manager_process.uri, "caruso.manager", caruso_manager_process.process.pid),
            (host.uri, "counter", host.process.pid)]


def honest(caruso_client):
    """An honest client's call: it must keep working whatever strangers send."""
    fresh = connect(caruso_client.uri, timeout=5, call_timeout=5)
    return fresh.get("counter").increment()["value"]


def test_the_deployment_secret_is_required_and_never_sent(daemons, caruso_manager):
    secret = credentials.deployment_secret()
    assert secret, "the manager made a deployment secret"
    for uri, object_id, _ in daemons:
        port = peers.address(uri)[1]
        assert peers.send(uri, peers.handshake_message(object_id)) == f"refused: {handshake.REFUSED}"
        assert peers.send(uri, peers.handshake_message(object_id, secret="wrong", port=port)) == \
            f"refused: {handshake.REFUSED}"
        wrong_port = peers.handshake_message(object_id, secret=secret, port=port + 1)
        assert peers.send(uri, wrong_port) == f"refused: {handshake.REFUSED}"
        right = peers.handshake_message(object_id, secret=secret, port=port)
        assert secret.encode() not in right
        assert peers.send(uri, right) == "accepted"


def test_a_replayed_or_stale_handshake_is_refused(daemons):
    secret = credentials.deployment_secret()
    for uri, object_id, _ in daemons:
        port = peers.address(uri)[1]
        captured = peers.handshake_message(object_id, secret=secret, port=port)
        assert peers.send(uri, captured) == "accepted"
        assert peers.send(uri, captured) == f"refused: {handshake.REFUSED} (a replayed handshake)"
        stale = handshake.proof(secret, port, clock=lambda: time.time() - 2 * handshake.WINDOW)
        assert "clock" in peers.send(uri, peers.handshake_message(object_id, proof=stale))


@pytest.mark.parametrize("serializer", [peers.MARSHAL, peers.JSON])
def test_only_serpent_is_taken_and_nothing_else_is_decoded(daemons, caruso_client, serializer):
    """13 bytes of marshal froze a manager for 15 s when Pyro5 decoded them before the secret."""
    for uri, _, _ in daemons:
        bomb = peers.message(protocol.MSG_CONNECT, b"[" * 13, serializer=serializer)
        assert peers.send(uri, bomb) == "refused: caruso speaks serpent only"
        deep = peers.message(protocol.MSG_CONNECT, b"[" * 2000 + b"]" * 2000, serializer=serializer)
        assert peers.send(uri, deep) == "refused: caruso speaks serpent only"
    assert honest(caruso_client) == 1


def test_a_compressed_or_oversized_handshake_is_refused_before_it_is_read(daemons, caruso_client):
    """A 255 KB handshake inflating to 256 MiB took a host 525 MB before the secret was checked."""
    bomb = zlib.compress(b"\0" * 256 * 2**20, 9)
    before = {pid: peers.memory(pid) for _, _, pid in daemons}
    for uri, _, _ in daemons:
        small = peers.message(protocol.MSG_CONNECT, zlib.compress(b"[]" * 1000),
                              flags=protocol.FLAGS_COMPRESSED)
        assert peers.send(uri, small) == "refused: compressed, batched or raw messages are not taken"
        large = peers.message(protocol.MSG_CONNECT, bomb)
        assert peers.send(uri, large[:40]) == f"refused: message of {len(bomb)} bytes is over the limit of 4096"
        lying = peers.message(protocol.MSG_CONNECT, b"", claimed_size=2**31)
        assert peers.send(uri, lying).startswith("refused: message too large")
    for _, _, pid in daemons:
        assert peers.memory(pid)[1] - before[pid][1] < 20 * 2**20     # peak memory barely moved
    assert honest(caruso_client) == 1


def test_unknown_message_types_are_refused_before_their_payload(daemons):
    for uri, _, _ in daemons:
        for kind in (protocol.MSG_INVOKE, protocol.MSG_PING, 99):
            header = peers.message(kind, claimed_size=1000)[:40]     # the payload never comes
            assert peers.send(uri, header).startswith("refused: ")
        assert peers.send(uri, b"GET / HTTP/1.1\r\n\r\n" + b"\0" * 30) == "closed"


def test_idle_and_slow_sockets_do_not_stop_honest_clients(daemons, caruso_client):
    """257 silent sockets stopped a daemon's accept loop for 37 s; now 1,000 cost nothing."""
    held = []
    try:
        for uri, _, _ in daemons:
            held += peers.hold_open(uri, 500)
        for _ in range(3):
            assert honest(caruso_client) > 0
        slow = socket.create_connection(peers.address(daemons[1][0]))
        trickle = threading.Thread(target=_trickle, args=(slow, peers.handshake_message("counter")), daemon=True)
        trickle.start()
        assert honest(caruso_client) > 0
        # each silent or slow socket is closed at its handshake deadline (1 s here)
        assert len(peers.closed_by_peer(held + [slow], timeout=30)) == len(held) + 1
    finally:
        for sock in held:
            sock.close()


def _trickle(sock, data):
    for byte in data:
        try:
            sock.send(bytes([byte]))
        except OSError:
            return
        time.sleep(0.2)


def test_after_the_handshake_every_message_header_is_checked(daemons, caruso_client):
    """An authenticated connection that sends a compressed, batched or marshal call is
    closed and the call never runs."""
    secret = credentials.deployment_secret()
    uri = daemons[1][0]
    port = peers.address(uri)[1]
    call = b"('counter', 'increment', (), {})"
    for bad in (peers.message(protocol.MSG_INVOKE, zlib.compress(call), flags=protocol.FLAGS_COMPRESSED),
                peers.message(protocol.MSG_INVOKE, call, flags=protocol.FLAGS_BATCH),
                peers.message(protocol.MSG_INVOKE, call, serializer=peers.MARSHAL),
                peers.message(protocol.MSG_INVOKE, claimed_size=2**30)):
        with socket.create_connection(peers.address(uri), timeout=10) as sock:
            sock.sendall(peers.handshake_message("counter", secret=secret, port=port))
            assert peers.answer(sock) == "accepted"
            sock.sendall(bad)
            assert len(peers.closed_by_peer([sock], timeout=10)) == 1
    assert honest(caruso_client) == 1


def test_idle_connections_are_closed_and_clients_reconnect(daemons, caruso_client):
    secret = credentials.deployment_secret()
    uri = daemons[1][0]
    with socket.create_connection(peers.address(uri), timeout=10) as sock:
        sock.sendall(peers.handshake_message("counter", secret=secret, port=peers.address(uri)[1]))
        assert peers.answer(sock) == "accepted"
        assert len(peers.closed_by_peer([sock], timeout=20)) == 1          # idle for 2 s: closed
    counter = caruso_client.get("counter")
    assert counter.increment()["value"] == 1
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:      # idle past the daemon's idle timeout, between calls
        time.sleep(0.5)
        assert counter.increment()["value"] > 1


def test_a_call_that_takes_too_long_times_out_and_the_service_goes_on(daemons, caruso_client):
    impatient = connect(caruso_client.uri, call_timeout=0.5)
    with pytest.raises(CallTimedOut, match=r"did not answer slow\(\) within 0.5s"):
        impatient.get("counter").slow(3)
    assert impatient.get("counter").increment()["value"] == 1


@pytest.mark.parametrize("at", ["handshake", "result"])
def test_a_proxy_refuses_a_compressed_or_foreign_reply_before_reading_it(at):
    """A process answering on a service's address (one that took a freed port) must not make
    a client inflate a bomb or decode another serializer's payload."""
    import resource

    from Pyro5.errors import CommunicationError
    from caruso_core import remoting

    bomb = zlib.compress(b"\0" * 128 * 2**20, 9)
    bad = {"compressed": dict(flags=protocol.FLAGS_COMPRESSED), "marshal": dict(serializer=2)}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, options in bad.items():
        if at == "handshake":
            replies = [peers.message(protocol.MSG_CONNECTOK, bomb if name == "compressed" else b"[" * 13, **options)]
        else:
            replies = [peers.connect_ok(["increment"]),
                       peers.message(protocol.MSG_RESULT, bomb if name == "compressed" else b"[" * 13, seq=1, **options)]
        client = remoting.proxy(peers.impostor(replies, "counter"), secret="", timeout=5)
        with pytest.raises(CommunicationError) as refused:
            client.increment()
        expected = "compressed, batched or raw" if name == "compressed" else "caruso speaks serpent only"
        assert expected in str(refused.value), (name, refused.value)
        client._pyroRelease()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024   # KiB: nothing inflated


@pytest.mark.parametrize("at", ["handshake", "result"])
def test_a_proxy_refuses_a_reply_that_claims_to_be_oversized_before_reading_it(at):
    """A header claiming 2 GiB is refused as it arrives: the proxy neither allocates for it
    nor waits for a payload that never comes (that would end as a timeout instead)."""
    from Pyro5.errors import CommunicationError
    from caruso_core import remoting

    kind = protocol.MSG_CONNECTOK if at == "handshake" else protocol.MSG_RESULT
    lying = peers.message(kind, b"", seq=0 if at == "handshake" else 1, claimed_size=2**31)[:40]
    replies = [lying] if at == "handshake" else [peers.connect_ok(["increment"]), lying]
    client = remoting.proxy(peers.impostor(replies, "counter"), secret="", timeout=5)
    with pytest.raises(CommunicationError, match="too large|over the limit"):
        client.increment()
    client._pyroRelease()
