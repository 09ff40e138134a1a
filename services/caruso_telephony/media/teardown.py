"""rtpengine's RTP timeouts: an XML-RPC request ``teardown(call_id)`` for each call it ended.

Contract: :class:`TeardownListener` serves XML-RPC on a free port of 127.0.0.1 at path
``/RPC2`` (rtpengine's ``--b2b-url`` with ``--xmlrpc-format=1``: the call id only). It
answers peers on 127.0.0.1 only, requests of at most ``MAX_REQUEST`` bytes without
content encoding, one at a time, each within ``REQUEST_SECONDS``; its one method is
``teardown(call_id)`` with a str of 1 to ``MAX_CALL_ID`` characters, which calls
``on_teardown(call_id)`` and returns true. rtpengine retries a teardown that found no
listener, so the listener stays up as long as rtpengine runs.
"""
from __future__ import annotations

import logging
import threading
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer
from typing import Any, Callable

from caruso_core.digits import digits

MAX_REQUEST = 8192
MAX_CALL_ID = 256
REQUEST_SECONDS = 2.0
log = logging.getLogger(__name__)


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/RPC2",)
    timeout = REQUEST_SECONDS

    def do_POST(self) -> None:
        length = self.headers.get("content-length", "")
        if self.client_address[0] != "127.0.0.1":
            self.send_error(403)
        elif self.headers.get("content-encoding", "identity").lower() != "identity":
            self.send_error(415)
        elif not digits(length) or int(length) > MAX_REQUEST:
            self.send_error(413)
        else:
            super().do_POST()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("teardown listener: " + format, *args)


class TeardownListener:
    def __init__(self, on_teardown: Callable[[str], None]) -> None:
        self.on_teardown = on_teardown
        self._server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=_Handler, logRequests=False)
        self._server.register_function(self._teardown, "teardown")
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.25},
                                        name=f"media-teardown-{self.port}", daemon=True)

    def _teardown(self, call_id: Any) -> bool:
        if not isinstance(call_id, str) or not 0 < len(call_id) <= MAX_CALL_ID:
            raise ValueError(f"a call id is a str of 1 to {MAX_CALL_ID} characters")
        self.on_teardown(call_id)
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
