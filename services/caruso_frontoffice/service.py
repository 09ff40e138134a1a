"""The front-office service: the web app served by uvicorn in a thread of the host.

Configuration (all optional, so that ``caruso up`` runs it as it is):

``address``   where to serve, ``http://127.0.0.1:8080`` by default (port 0: any free
              port); ``https://...`` needs ``certfile`` and ``keyfile``
``db``        SQLAlchemy URL of users and sessions (default ``frontoffice.db`` in the
              data folder)
``views``     view files, folders or ``package:path`` resources (one or a list), merged
              in order; relative paths start at the service's working folder
              (default: ``caruso_frontoffice.views:crm.xml``, the views of the storage
              service's example CRM model)
``key_file``  the cookie signing key (default ``frontoffice.key`` in the data folder,
              created on first start)
``session_hours`` how long a sign-in lasts (default 12)
``self_service`` the ids of the dialog scripts the self-service portal publishes
              (default none)
``self_service_starts`` new self-service dialogs one client address may start a
              minute (default 30)
``desk``      the agent desktop: dialog script per queue, agents' skills and capacity,
              dispositions, the screen pop's view and attributes (see
              :mod:`caruso_frontoffice.desksettings`)

Start-up prints one line ``front office at URL``; while no user exists, one more line
with the one-time link that creates the first admin.
"""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

import caruso_core
from caruso_core import service
from caruso_core.deployment import data_dir, default_sqlite_url
from caruso_core.errors import ConfigError
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.app import create_app
from caruso_frontoffice.context import Context
from caruso_frontoffice.desksettings import desk_settings
from caruso_frontoffice.database import open_database
from caruso_frontoffice.sessions import Sessions, load_key
from caruso_core.throttle import Throttle
from caruso_frontoffice.views.catalog import load
from caruso_frontoffice.worksheets import Worksheets

DEFAULT_ADDRESS = "http://127.0.0.1:8080"
DEFAULT_VIEWS = "caruso_frontoffice.views:crm.xml"
START_TIMEOUT = 30.0
NAME_FAILURES, ADDRESS_FAILURES, FAILURE_WINDOW = 5, 20, 300.0


@service(name="frontoffice", interface="caruso.frontoffice/1", version="0.1.0", autostart=True)
class FrontOffice:
    """Serves the front office over HTTP(S) while the service runs."""

    def __init__(self, address: str = DEFAULT_ADDRESS, db: str | None = None, views: list[str] | str | None = None,
                 certfile: str | None = None, keyfile: str | None = None, key_file: str | None = None,
                 session_hours: float = 12.0, self_service: list[str] | None = None,
                 self_service_starts: int = 30, desk: dict[str, Any] | None = None) -> None:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"frontoffice address {address!r} must look like http://127.0.0.1:8080")
        if parts.scheme == "https" and not (certfile and keyfile):
            raise ConfigError(f"frontoffice address {address!r} is https: set certfile and keyfile")
        if not isinstance(session_hours, (int, float)) or session_hours <= 0:
            raise ConfigError(f"frontoffice session_hours must be a positive number, not {session_hours!r}")
        if not isinstance(self_service, (list, type(None))) or not all(
                isinstance(script, str) for script in self_service or ()):
            raise ConfigError(f"frontoffice self_service must be a list of script ids, not {self_service!r}")
        if not isinstance(self_service_starts, int) or self_service_starts < 1:
            raise ConfigError(f"frontoffice self_service_starts must be a positive whole number, "
                              f"not {self_service_starts!r}")
        self._scheme, self._host = parts.scheme, parts.hostname
        self._port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
        self._tls = {"ssl_certfile": certfile, "ssl_keyfile": keyfile}
        engine = open_database(db or default_sqlite_url("frontoffice.db"))
        self._engine = engine
        self._context = Context(
            accounts=Accounts(engine),
            sessions=Sessions(engine, load_key(Path(key_file) if key_file else data_dir() / "frontoffice.key"),
                              lifetime=float(session_hours) * 3600),
            catalog=load([views] if isinstance(views, str) else views if views is not None else [DEFAULT_VIEWS]),
            client=caruso_core.connect(),
            name_throttle=Throttle(NAME_FAILURES, FAILURE_WINDOW),
            address_throttle=Throttle(ADDRESS_FAILURES, FAILURE_WINDOW),
            self_service=tuple(self_service or ()), starts_per_minute=self_service_starts,
            desk_settings=desk_settings(desk), worksheets=Worksheets(engine))
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve the app; ConfigError if the address cannot be served."""
        try:
            listener = socket.create_server((self._host, self._port),
                                            family=socket.AF_INET6 if ":" in self._host else socket.AF_INET)
        except OSError as error:
            raise ConfigError(f"cannot serve the front office at {self._host}:{self._port} ({error.strerror}); "
                              "set 'address' in the deployment's [services.frontoffice] config") from None
        # accepted connections inherit it: without it, a response written in two parts (head,
        # body) waits for the client's delayed acknowledgement, about 40 ms a page
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._port = listener.getsockname()[1]
        config = uvicorn.Config(create_app(self._context), lifespan="off", log_level="warning",
                                access_log=False, proxy_headers=False, server_header=False, **self._tls)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listener]},
                                        name="caruso-frontoffice-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                listener.close()
                raise ConfigError(f"the front office did not start at {self.url()}; see the log above")
            time.sleep(0.02)
        print(f"front office at {self.url()}", flush=True)
        if self._context.setup_token:
            print(f"no user yet: create the first admin at {self.url()}/setup?token={self._context.setup_token} "
                  "or with 'caruso frontoffice user add NAME --role admin'", flush=True)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
        self._engine.dispose()

    def health(self) -> dict[str, Any]:
        serving = self._thread is not None and self._thread.is_alive()
        return {"status": "ok" if serving else "failing", "url": self.url()}

    def url(self) -> str:
        """The address the front office is served at."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{self._scheme}://{host}:{self._port}"
