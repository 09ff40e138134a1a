"""The supervisor's control service: ``caruso swap`` asks a running ``caruso up`` for a new
instance of one of its services, or to go back to the one a swap replaced.

Contract: while :class:`~caruso_core.supervisor.Supervisor` runs (with secrets, not
``--insecure``) it registers a service named ``supervisor`` (interface
``caruso.supervisor/1``) whose calls each take the operator secret and are refused without
it; its registration is trusted (made with the operator secret) and ends with the
supervisor. Swaps run one at a time. The supervisor of one host's part of a deployment on
several hosts registers with the property ``host`` at that host's address;
:func:`supervisor_of` finds the one that runs a service's active instance.
"""
from __future__ import annotations

import threading
from typing import Any

import Pyro5.api

from caruso_core import credentials
from caruso_core.contract import remote, service
from caruso_core.errors import NotAuthorized, NotFound
from caruso_core.host import ServiceHost

INTERFACE = "caruso.supervisor/1"
START_TIMEOUT = 30.0


class Control:
    """A running control service; :meth:`stop` unregisters it and ends its thread."""

    def __init__(self, host: ServiceHost, thread: threading.Thread) -> None:
        self._host, self._thread = host, thread

    def stop(self) -> None:
        self._host.retire_soon(unregister=True)
        self._thread.join(START_TIMEOUT)

    @property
    def alive(self) -> bool:
        """False once its host retired (stopped, or an operator unregistered it)."""
        return self._thread.is_alive()


def supervisor_of(client: Any, name: str) -> Any:
    """A proxy to the supervisor that runs the active instance of service ``name``: the only
    one, or of the supervisors of several hosts, the one at that instance's address."""
    placed = [s for s in client.lookup(INTERFACE) if "host" in s["properties"]]
    if len(placed) < 2:
        return client.get(INTERFACE)
    active = client.lookup(name)
    if not active:
        raise NotFound(f"no instance of {name!r} is active: there is nothing to swap")
    address = Pyro5.api.URI(active[0]["uri"]).host
    for record in placed:
        if Pyro5.api.URI(record["uri"]).host == address:
            return client.get(INTERFACE, host=record["properties"]["host"])
    raise NotFound(f"no supervisor runs on the host of {name!r} ({address}): start that host's part "
                   "with 'caruso up --host NAME'")


def serve(supervisor: Any, manager_uri: str, operator_secret: str, bind: str | None = None,
          properties: dict[str, Any] | None = None) -> Control:
    """Register ``supervisor``'s :meth:`swap` and :meth:`back` with the manager at
    ``manager_uri``, for holders of ``operator_secret``, bound to ``bind`` (None: the
    default address) with ``properties`` (a part of a deployment on several hosts: its host)."""
    swapping = threading.Lock()

    def authorize(offered: str) -> None:
        if not credentials.same(offered, operator_secret):
            raise NotAuthorized("swapping through the supervisor needs the operator secret "
                            "(the file operator.secret in the data folder)")

    @service(name="supervisor", interface=INTERFACE, version="1")
    class SupervisorControl:
        @remote
        def swap(self, name: str, operator_secret: str, version: str | None = None, use: str | None = None,
                 config: dict[str, Any] | None = None) -> dict[str, Any]:
            """Start a new instance of ``name`` and swap it in (``{"active", "standby"}``)."""
            authorize(operator_secret)
            with swapping:
                return supervisor.swap(name, version=version, use=use, config=config)

        @remote
        def back(self, name: str, operator_secret: str) -> dict[str, Any]:
            """Make the instance the last swap of ``name`` replaced active again."""
            authorize(operator_secret)
            with swapping:
                return supervisor.back(name)

    host = ServiceHost(SupervisorControl, manager=manager_uri, operator_secret=operator_secret,
                       credential=operator_secret, host=bind, properties=properties)
    ready, failed = threading.Event(), []

    def run() -> None:
        try:
            host.run(on_ready=lambda _: ready.set())
        except BaseException as error:   # told to the caller below
            failed.append(error)
            ready.set()

    thread = threading.Thread(target=run, name="caruso-supervisor-control", daemon=True)
    thread.start()
    if not ready.wait(START_TIMEOUT) or failed:
        raise failed[0] if failed else TimeoutError("the supervisor's control service did not start")
    return Control(host, thread)
