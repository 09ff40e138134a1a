"""What reaches the media layer's listeners besides its own rtpengine: forged, oversized,
malformed, foreign and slow requests are dropped or refused; the real ones still pass."""
from __future__ import annotations

import http.client
import json
import socket
import xmlrpc.client

import pytest

from media_instances import ivr_call, media  # noqa: F401  (a fixture)


def dtmf_report(call: str, tag: str, event: object = 5, **extra: object) -> bytes:
    return json.dumps({"callid": call, "source_tag": tag, "type": "DTMF", "event": event, "duration": 200,
                       **extra}).encode()


def send_from(source: str, port: int, datagram: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind((source, 0))
        sender.sendto(datagram, ("127.0.0.1", port))


def test_dtmf_listener_takes_only_reports_on_held_legs_from_its_own_host(media):
    port, dropped = media.health()["dtmf_port"], media.health()["dtmf_dropped"]
    with ivr_call(media, "held"):
        for datagram in (b"\xff not json", b"[1, 2]", dtmf_report("not-held", "caller"),
                         dtmf_report("held", "stranger"), dtmf_report("held", "caller", event=16),
                         dtmf_report("held", "caller", event="5"), dtmf_report("held", "caller", type="other"),
                         dtmf_report("held", "caller", padding="x" * 3000)):
            send_from("127.0.0.1", port, datagram)
        send_from("127.0.0.2", port, dtmf_report("held", "caller", event=1))
        send_from("127.0.0.1", port, dtmf_report("held", "caller", event=11))
        assert media.reports.digits("held", 1) == [("caller", "#")]
        assert media.health()["dtmf_dropped"] - dropped == 9          # the ones above, counted in order
    assert [report for report in media.reports.dtmf if report[0] in ("held", "not-held")] == [("held", "caller", "#")]


def post(port: int, body: bytes, *, path: str = "/RPC2", source: str = "127.0.0.1",
         headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request("POST", path, body, {"Content-Type": "text/xml", **(headers or {})})
        return connection.getresponse().status
    finally:
        connection.close()


def test_teardown_listener_answers_only_teardown_of_a_bounded_call_id(media):
    port = media.health()["teardown_port"]
    proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/RPC2")
    with ivr_call(media, "torn"):
        for bad in (lambda: proxy.teardown("x" * 257), lambda: proxy.teardown(42), lambda: proxy.teardown(),
                    lambda: proxy.system.listMethods(), lambda: proxy.pow(2, 10)):
            with pytest.raises(xmlrpc.client.Fault):
                bad()
        assert proxy.teardown("never-held") is True
        request = xmlrpc.client.dumps(("torn",), "teardown").encode()
        assert post(port, request, path="/") == 404
        assert post(port, request, source="127.0.0.2") == 403
        assert post(port, request, headers={"Content-Encoding": "gzip"}) == 415
        assert post(port, request + b" " * 9000) == 413
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 100\r\n")   # and then nothing
            assert proxy.teardown("torn") is True    # served once the slow request's time is up
        media.reports.timed_out("torn")
    assert "never-held" not in media.reports.timeouts
