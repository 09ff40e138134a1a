"""The calls rule actions make to other services, owned by one storage instance.

Contract of :class:`RuleCalls`: each storage instance has its own, made with the
instance and stopped with it. ``submit`` queues a call of ``method(**arguments)`` on
the service found for ``interface`` through the instance's client of the manager; rule
actions submit from an after-commit callback, so nothing is sent for a change that is
rolled back. Calls run one at a time, in the order submitted, on the instance's own
thread (the caller of the change does not wait); a failing call is logged (logger
``caruso.storage.rules``) and the next one runs. ``stop`` waits for the calls queued so
far; a call submitted after it is logged as dropped.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from caruso_core.client import Client

log = logging.getLogger("caruso.storage.rules")


class RuleCalls:
    """The rule-call thread of one storage instance; see the module's contract."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._proxies: dict[str, Any] = {}      # by interface; used on the call thread only
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caruso-rule-calls")
        self._lock = threading.Lock()
        self._stopped = False

    def submit(self, rule: str, interface: str, method: str, arguments: dict[str, Any]) -> None:
        """Queue the call ``method(**arguments)`` of the service ``interface`` for ``rule``."""
        with self._lock:
            if self._stopped:
                log.error("rule %s: calling %s.%s dropped: the storage has stopped", rule, interface, method)
                return
            self._thread.submit(self._call, rule, interface, method, arguments)

    def _call(self, rule: str, interface: str, method: str, arguments: dict[str, Any]) -> None:
        try:
            proxy = self._proxies.get(interface)
            if proxy is None:
                proxy = self._proxies[interface] = self._client.get(interface)
            getattr(proxy, method)(**arguments)
        except Exception:
            log.exception("rule %s: calling %s.%s failed", rule, interface, method)

    def stop(self) -> None:
        """Wait for the queued calls, then end the thread."""
        with self._lock:
            self._stopped = True
        self._thread.shutdown(wait=True)
