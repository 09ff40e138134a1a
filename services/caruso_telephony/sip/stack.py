"""sippy's event loop in a thread of its own, and the only way into sippy from other threads.

sippy keeps process-wide state: one event dispatcher (``ED2``) whose timers must be armed
from its own thread, and the local address in ``SipConf``. Contract of :class:`SipStack`:

- :meth:`SipStack.start` runs the loop in a new thread, binds UDP (and, with a TCP
  transport, TCP) on ``address:port`` (port 0: any free one) and returns once the socket
  is bound, or raises OSError; at most one stack runs in a process at a time.
- Every received message is screened (:mod:`caruso_telephony.sip.screening`): what does
  not pass is answered or dropped before sippy sees it. Beyond ``max_transactions``
  server transactions a new request gets 503 with Retry-After. Then ``intercept(message,
  data, source, transport)`` may take the message (return True: sippy never sees it);
  otherwise sippy's transaction layer does, and out-of-dialog requests reach
  ``on_request(request, transaction)`` (sippy's request callback contract).
- :meth:`SipStack.run` calls a function in the loop thread and returns its result (or
  raises its exception) within a timeout (``Unavailable`` after it); :meth:`SipStack.post`
  queues one without waiting. Functions run there must not block.
- :meth:`SipStack.listen` adds a UDP (and TCP) socket on another port, the one new
  requests then leave from; :meth:`SipStack.send` sends raw bytes on a transport.
- :meth:`SipStack.stop` closes every socket, drops sippy's timers and ends the thread.

The sippy settings every caruso process needs are made here: one UDP worker per socket
(several reorder datagrams), exclusive UDP binds (sippy's default lets a second process
bind the same port), ``transport`` parameters in lower case (screening), a SIP trace on
the component's logger at DEBUG level with credentials left out instead of sippy's printer,
and Via and Contact addresses that sippy fills in per socket.
"""
from __future__ import annotations

import concurrent.futures
import logging
import re
import socket
import threading
from typing import Any, Callable, Protocol

from caruso_core.errors import ConfigError, Unavailable
from caruso_telephony.sip.message import Limits, Message, reply
from caruso_telephony.sip.screening import screen

STARTUP_TIMEOUT = 5.0
RUN_TIMEOUT = 5.0
RETRY_AFTER = 5
CREDENTIALS = re.compile(r"^((?:proxy-)?authorization:).*$", re.IGNORECASE | re.MULTILINE)
_running = threading.Lock()


class Transport(Protocol):
    """What sippy sends on (its ``Udp_server`` and the TCP connections): ``send_to(data,
    address)``, ``getSIPaddr()`` and ``transport`` ('udp' or 'tcp')."""

    transport: str

    def send_to(self, data: bytes | str, address: Any) -> None: ...


class LocalAddress:
    """The local address in sippy's own sense (``my``): each message shows the address and
    port of the socket it leaves from in its Via and Contact."""

    my = True

    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return self.value


class SipTrace:
    """sippy's SIP logger: every message at DEBUG level, without Authorization values."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log

    def write(self, *parts: Any, **_: Any) -> None:
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("%s", CREDENTIALS.sub(r"\1 (left out)", "".join(str(part) for part in parts)))


class SipStack:
    """See the module's contract. ``tcp_factory(stack)`` makes the TCP transport, if any."""

    def __init__(self, address: str, *, log: logging.Logger, limits: Limits = Limits(),
                 max_transactions: int = 2000, user_agent: str = "caruso") -> None:
        self.address = address
        self.log = log
        self.limits = limits
        self.max_transactions = max_transactions
        self.user_agent = user_agent
        self.intercept: Callable[[Message, bytes, Any, Transport], bool] = lambda *_: False
        self.global_config: dict[str, Any] = {}
        self.udp: list[Any] = []
        self.tcp: Any = None
        self._thread: threading.Thread | None = None
        self._ident: int | None = None
        self._tm: Any = None

    # -- life -------------------------------------------------------------------------------

    def start(self, port: int, on_request: Callable[[Any, Any], Any],
              tcp_factory: Callable[["SipStack"], Any] | None = None) -> None:
        if not _running.acquire(blocking=False):
            raise ConfigError("a SIP stack runs in this process already: sippy allows one per process "
                              "(host the telephony component in a process of its own)")
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        try:
            if port == 0 and tcp_factory is not None:
                port = _free_for_both(self.address)
            self._thread = threading.Thread(target=self._loop, args=(port, on_request, tcp_factory, started),
                                            name="sippy", daemon=True)
            self._thread.start()
            started.result(STARTUP_TIMEOUT)
        except BaseException:
            if self._thread is not None:
                self._thread.join(STARTUP_TIMEOUT)
            self._thread = None          # not started: stop() has nothing to release
            _running.release()
            raise

    def _loop(self, port: int, on_request: Callable[[Any, Any], Any],
              tcp_factory: Callable[["SipStack"], Any] | None, started: concurrent.futures.Future[None]) -> None:
        from sippy.Core.EventDispatcher import ED2
        from sippy.SipConf import MyPort, SipConf
        from sippy.Udp_server import Udp_server_opts

        ED2.my_ident = self._ident = threading.get_ident()
        Udp_server_opts.nworkers = 1
        Udp_server_opts.flags = 0
        SipConf.my_address = LocalAddress(self.address)
        SipConf.my_port = MyPort(port or SipConf.default_port)
        SipConf.my_uaname = self.user_agent
        self.global_config.update(_sip_address=self.address, _sip_port=port, _sip_logger=SipTrace(self.log))
        try:
            self._tm = _transactions(self)(self.global_config, on_request)
            self.global_config["_sip_tm"] = self._tm
            self.udp = list(self._tm.l4r.cache_l2s.values())
            if tcp_factory is not None:
                self.tcp = tcp_factory(self)
                self.tcp.listen(self.address, self.port)
        except BaseException as error:
            self._close_sockets()
            started.set_exception(error)
            return
        started.set_result(None)
        ED2.loop()

    @property
    def port(self) -> int:
        """The port of the first socket (the one the stack started on)."""
        return self.udp[0].uopts.laddress[1]

    def listen(self, port: int) -> None:
        """Bind UDP (and TCP, on the same port) on ``port`` too (0: a free one); requests
        made from now on leave from it. Raises OSError when the port is taken."""
        if port == 0 and self.tcp is not None:
            port = _free_for_both(self.address)

        def bind() -> None:
            from sippy.Udp_server import Udp_server, Udp_server_opts

            server = Udp_server(self.global_config, Udp_server_opts((self.address, port), self._tm.handleIncoming))
            try:
                if self.tcp is not None:
                    self.tcp.listen(self.address, server.uopts.laddress[1])
            except OSError:
                server.shutdown()
                raise
            self.udp.insert(0, server)
        self.run(bind)

    def ports(self) -> list[int]:
        return [server.uopts.laddress[1] for server in self.udp]

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._thread.is_alive():
            try:
                self.run(self._halt)
            except Unavailable:
                self.log.warning("the SIP loop did not stop in time")
        self._thread.join(STARTUP_TIMEOUT)
        self._thread = None
        _running.release()

    def _halt(self) -> None:
        from sippy.Core.EventDispatcher import ED2

        self._close_sockets()
        ED2.tlisteners.clear()      # the timers of this run's dialogs and transactions
        ED2.twasted = 0
        ED2.breakLoop()

    def _close_sockets(self) -> None:
        """Close the TCP transport, the sockets :meth:`listen` added, then sippy's own (its
        transaction manager's shutdown closes them)."""
        if self.tcp is not None:
            self.tcp.close()
            self.tcp = None
        if self._tm is not None:
            own = set(map(id, self._tm.l4r.cache_l2s.values()))
            for server in self.udp:
                if id(server) not in own:
                    server.shutdown()
            self._tm.shutdown()
            self._tm = None
        self.udp = []

    # -- the way in ---------------------------------------------------------------------------

    def post(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` in the loop thread, soon; its exceptions are logged."""
        from sippy.Core.EventDispatcher import ED2

        ED2.callFromThread(self._logged, function, args)

    def _logged(self, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            function(*args)
        except Exception:
            self.log.exception("SIP task %s failed", getattr(function, "__qualname__", function))

    def run(self, function: Callable[..., Any], *args: Any, timeout: float = RUN_TIMEOUT) -> Any:
        """``function(*args)`` run in the loop thread; its result or its exception."""
        if threading.get_ident() == self._ident:
            return function(*args)
        from sippy.Core.EventDispatcher import ED2

        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def task() -> None:
            try:
                result.set_result(function(*args))
            except BaseException as error:
                result.set_exception(error)

        ED2.callFromThread(task)
        try:
            return result.result(timeout)
        except concurrent.futures.TimeoutError:
            raise Unavailable(f"the SIP loop did not answer within {timeout:g}s") from None

    def in_loop(self) -> bool:
        return threading.get_ident() == self._ident

    # -- messages -----------------------------------------------------------------------------

    def send(self, transport: Transport, data: bytes, address: tuple[str, int]) -> None:
        """Send raw bytes (a stateless response or a relayed message); loop thread only."""
        transport.send_to(data, address)
        self.global_config["_sip_logger"].write(f"SENDING raw message to {address}:\n", data.decode("utf-8", "replace"))

    def udp_transport(self) -> Transport:
        """The socket new UDP requests leave from."""
        return self.udp[0]

    def transactions(self) -> int:
        return len(self._tm.tserver) + len(self._tm.tclient) if self._tm is not None else 0

    def receive(self, data: bytes, source: Any, transport: Transport, rtime: Any) -> None:
        """Judge a message a transport received and hand it on (see the module's contract);
        loop thread only."""
        if self._tm is None:        # queued before the stack stopped
            return
        verdict = screen(data, self.limits)
        if verdict.action == "drop":
            self.log.debug("dropped a message from %s: %s", source, verdict.reason)
            return
        if verdict.action == "answer":
            self.log.info("refused a request from %s: %s", source, verdict.reason)
            self.send(transport, verdict.message.render(), source.address)
            return
        message = verdict.message
        if (message.is_request and message.method not in ("ACK", "CANCEL")
                and len(self._tm.tserver) >= self.max_transactions):
            self.send(transport, reply(message, 503, "Service Unavailable",
                                       [("retry-after", str(RETRY_AFTER))]).render(), source.address)
        elif not self.intercept(message, verdict.data, source, transport):
            self._tm.process(verdict.data, source, transport, rtime)


def _transactions(stack: SipStack) -> type:
    """sippy's transaction manager, screening what it receives and sending TCP requests on
    the stack's TCP transport and UDP ones from the stack's newest socket."""
    from sippy.SipTransactionManager import SipTransactionManager

    class Transactions(SipTransactionManager):
        def handleIncoming(self, data: bytes, source: Any, server: Any, rtime: Any) -> None:
            stack.receive(data, source, server, rtime)

        def process(self, data: bytes, source: Any, server: Any, rtime: Any) -> None:
            super().handleIncoming(data, source, server, rtime)

        def newTransaction(self, msg: Any, resp_cb: Any = None, laddress: Any = None, userv: Any = None,
                           *args: Any, **kwargs: Any) -> Any:
            if userv is None:
                address, transport = msg.getTarget()
                if str(transport).lower() == "tcp":
                    if stack.tcp is None:
                        raise Unavailable(f"no TCP transport to reach {address}")
                    userv = stack.tcp.route(address)
                else:
                    userv = stack.udp_transport()
            return super().newTransaction(msg, resp_cb, laddress, userv, *args, **kwargs)

    return Transactions


def _free_for_both(address: str) -> int:
    """A port free on ``address`` for UDP and TCP alike (a free UDP port may be a TCP
    connection's local port)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((address, port))
                except OSError:
                    continue
        return port
