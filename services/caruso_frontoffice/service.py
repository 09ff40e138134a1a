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
``portal_searches`` the portal's article lists and searches one client address may ask
              for a minute (default 60)
``articles``  the knowledge base the portal lists and searches (see
              :class:`caruso_frontoffice.articles.ArticleSettings`; default the knowledge
              module's published articles, false: none)
``desk``      the agent desktop: dialog script per queue, agents' skills and capacity,
              dispositions, the screen pop's view and attributes (see
              :mod:`caruso_frontoffice.desksettings`)
``password_cost`` the scrypt cost of stored passwords, ``{n, r, p}`` (default OWASP's
              advice, n=2^17, r=8, p=1; see :mod:`caruso_frontoffice.passwords`): a
              password stored at another cost is hashed again at this one at its next
              sign-in; a start with a lower cost says so in the log
``max_connections``, ``request_timeout`` the bounds of the HTTP server (default 1000
              connections, 10 seconds to send a request; see :mod:`caruso_core.webserver`)
``audit_days`` how long the audit trail of the forms keeps an entry (default 365; see
              :mod:`caruso_frontoffice.audit`)
``timezone``  the time zone pages show and read dates and times in (an IANA name such as
              ``Europe/Amsterdam``; default UTC; a deployment's ``timezone`` sets it): the
              storage keeps datetimes in UTC
``trusted_proxies`` the IP addresses (or networks) of the reverse proxies in front of it,
              whose ``X-Forwarded-For`` names the client that sign-in and portal limits
              count (default none: the peer is the client, and the header is ignored)

The front office faces the internet, so its client of the manager never carries the
operator secret: it is the host's ``context`` client (which has none), or for an instance
made outside a host a client made without it.

Start-up prints one line ``front office at URL``; while no user exists, one more line
with the one-time link that creates the first admin.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from caruso_core import HostContext, connect, remote, service, zones
from caruso_core.deployment import data_dir, default_sqlite_url
from caruso_core.errors import ConfigError
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.app import create_app
from caruso_frontoffice.articles import ArticleSettings
from caruso_frontoffice.audit import AuditTrail
from caruso_frontoffice.context import Context
from caruso_frontoffice.desksettings import desk_settings
from caruso_frontoffice.database import open_database
from caruso_frontoffice.passwords import DEFAULT_COST, Cost, Passwords
from caruso_core import webserver
from caruso_core.webserver import MAX_CONNECTIONS, REQUEST_TIMEOUT, HttpServer, Limits
from caruso_frontoffice.sessions import Sessions, load_key
from caruso_core.throttle import Throttle
from caruso_frontoffice.views.catalog import DEFAULT_VIEWS, load
from caruso_frontoffice.filing import Filing
from caruso_frontoffice.savedfilters import SavedFilters
from caruso_frontoffice.submissions import Submissions
from caruso_frontoffice.worksheets import Worksheets

log = logging.getLogger(__name__)
DEFAULT_ADDRESS = "http://127.0.0.1:8080"
NAME_FAILURES, ADDRESS_FAILURES, FAILURE_WINDOW = 5, 20, 300.0


@service(name="frontoffice", interface="caruso.frontoffice/1", version="0.1.0", autostart=True)
class FrontOffice:
    """Serves the front office over HTTP(S) while the service runs."""

    def __init__(self, address: str = DEFAULT_ADDRESS, db: str | None = None, views: list[str] | str | None = None,
                 certfile: str | None = None, keyfile: str | None = None, key_file: str | None = None,
                 session_hours: float = 12.0, self_service: list[str] | None = None,
                 self_service_starts: int = 30, portal_searches: int = 60, desk: dict[str, Any] | None = None,
                 articles: dict[str, Any] | bool | None = None, password_cost: dict[str, int] | None = None,
                 max_connections: int = MAX_CONNECTIONS, request_timeout: float = REQUEST_TIMEOUT,
                 trusted_proxies: list[str] | None = None, audit_days: int = 365, timezone: str = "UTC",
                 context: HostContext | None = None) -> None:
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
        for name, limit in (("self_service_starts", self_service_starts), ("portal_searches", portal_searches),
                            ("audit_days", audit_days)):
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                raise ConfigError(f"frontoffice {name} must be a positive whole number, not {limit!r}")
        zone = zones.zone(timezone, "frontoffice timezone")
        limits = Limits.configured("frontoffice", max_connections, request_timeout)
        proxies = webserver.trusted_proxies("frontoffice", trusted_proxies)
        cost = Cost.configured(password_cost)
        if cost.below(DEFAULT_COST):
            log.warning("frontoffice password_cost %s is below OWASP's advice (n=2^%d, r=%d, p=%d): a stolen "
                        "user database is quicker to guess", password_cost, DEFAULT_COST.n.bit_length() - 1,
                        DEFAULT_COST.r, DEFAULT_COST.p)
        self._scheme, self._host = parts.scheme, parts.hostname
        self._port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
        engine = open_database(db or default_sqlite_url("frontoffice.db"))
        self._engine = engine
        self._context = Context(
            accounts=Accounts(engine, Passwords(cost)),
            sessions=Sessions(engine, load_key(Path(key_file) if key_file else data_dir() / "frontoffice.key"),
                              lifetime=float(session_hours) * 3600),
            catalog=load([views] if isinstance(views, str) else views if views is not None else [DEFAULT_VIEWS]),
            client=(context or HostContext.standalone("frontoffice", connect(operator_secret=""))).client,
            name_throttle=Throttle(NAME_FAILURES, FAILURE_WINDOW),
            address_throttle=Throttle(ADDRESS_FAILURES, FAILURE_WINDOW),
            self_service=tuple(self_service or ()), starts_per_minute=self_service_starts,
            searches_per_minute=portal_searches,
            article_settings=ArticleSettings.of(articles),
            desk_settings=desk_settings(desk), worksheets=Worksheets(engine), saved_filters=SavedFilters(engine),
            submissions=Submissions(engine), audit=AuditTrail(engine, audit_days), zone=zone)
        self._filing = Filing(self._context.desk) if self._context.desk is not None else None
        tls = {"ssl_certfile": certfile, "ssl_keyfile": keyfile} if parts.scheme == "https" else None
        self._http = HttpServer(create_app(self._context), limits, "the front office", tls=tls, proxies=proxies)

    def start(self) -> None:
        """Serve the app; ConfigError if the address cannot be served."""
        try:
            self._port = self._http.start(self._host, self._port)
        except OSError as error:
            raise ConfigError(f"cannot serve the front office at {self._host}:{self._port} ({error.strerror}); "
                              "set 'address' in the deployment's [services.frontoffice] config") from None
        if self._filing is not None:
            self._filing.start()
        print(f"front office at {self.url()}", flush=True)
        if self._context.setup_token:
            print(f"no user yet: create the first admin at {self.url()}/setup?token={self._context.setup_token} "
                  "or with 'caruso frontoffice user add NAME --role admin'", flush=True)

    def stop(self) -> None:
        if self._filing is not None:
            self._filing.stop()
        self._context.changes.stop()
        self._http.stop()
        self._engine.dispose()

    def health(self) -> dict[str, Any]:
        return {"status": "ok" if self._http.serving else "failing", "url": self.url()}

    @remote
    def url(self) -> str:
        """The address the front office is served at."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{self._scheme}://{host}:{self._port}"
