"""Deployments: the services of one solution, their configuration, and where data lives.

A deployment file (TOML, default ``caruso.toml`` in the current folder)::

    verticals = ["utility"]          # optional: what it was made from (caruso data demo)
    timezone = "Europe/Amsterdam"    # optional: the business's time zone (default UTC), given to
                                     # every service that takes a ``timezone`` and sets none

    [manager]
    uri = "PYRO:caruso.manager@127.0.0.1:7717"   # default: CARUSO_MANAGER or this
    lease = 10                                     # seconds
    db = "sqlite:///data/manager.db"              # default: manager.db in the data folder

    [services.storage]
    use = "storage"                  # a caruso.services entry point, or package.module:Class
    requires = []                    # interfaces started first (added to the class's own)
    name = "storage"                 # optional: register under another name
    properties = { ranking = 0 }     # optional: registration properties
    config = { model = "model.xml" } # optional: constructor arguments

Several hosts (each part started with ``caruso up --host NAME``, see :meth:`Deployment.on`)::

    [tls]                            # two-way TLS between every process (PYRO_SSL_* to children)
    ca = "certs/ca.crt"
    cert = "certs/host.crt"          # this host's certificate and key; a host may name its own
    key = "certs/host.key"

    [hosts.h1]
    address = "10.0.0.1"             # what its services bind to and peers connect to
    cert = "certs/h1.crt"            # optional: this host's own certificate and key
    key = "certs/h1.key"

    [manager]
    host = "h1"                      # the host that runs the manager (uri default: its address, 7717);
                                     # a list for a group of managers: host = ["h1", "h2"]

    [services.storage]
    host = "h2"                      # every service names its host when there are [hosts]
    standby = true                   # optional: start as a standby for failover
    port = 7801                      # optional (any service): its port (default: a free one)

Relative paths in it (model, scripts, views, the data folder) are relative to its folder:
``caruso up`` runs there. Without a file, the default deployment starts every installed service whose class
says ``autostart=True``. Services start in dependency order: a service starts after
every service of the deployment that provides an interface it requires.
"""
from __future__ import annotations

import contextlib
import fcntl
import inspect
import json
import math
import os
import socket
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any, Callable

import attrs
import Pyro5.api

from caruso_core import plugins, privatefiles, remoting, zones
from caruso_core.contract import ServiceSpec, spec_of
from caruso_core.errors import ConfigError

DEFAULT_DATA_DIR = "data"
DEFAULT_FILE = "caruso.toml"
RUNNING_MANAGER_FILE = "manager.uri"   # in the data folder, while caruso up runs there
UP_LOCK = "up.lock"                    # in the data folder: held by the caruso up running there
SERVICE_KEYS = {"use", "requires", "name", "version", "properties", "config", "host", "standby", "port"}
MANAGER_KEYS = {"uri", "lease", "db", "host"}
TLS_KEYS = {"ca", "cert", "key"}
HOST_KEYS = {"address", "cert", "key"}


def data_path() -> Path:
    """Where the deployment's data folder is: ``CARUSO_DATA``, else ``./data`` (not created)."""
    return Path(os.environ.get("CARUSO_DATA") or DEFAULT_DATA_DIR).resolve()


def data_dir() -> Path:
    """The deployment's data folder (see :func:`data_path`); created on demand, 0700
    (see :mod:`caruso_core.privatefiles`); one that cannot be is a ConfigError saying why."""
    path = data_path()
    try:
        return privatefiles.create_folder(path)
    except OSError as error:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"the data folder {path} is a file: move it away, or name another folder "
                              f"with CARUSO_DATA") from None
        raise ConfigError(f"the data folder {path} cannot be made ({error.strerror}: {error.filename})") from None


def default_sqlite_url(filename: str) -> str:
    """A SQLite URL for ``filename`` in the data folder, e.g. ``sqlite:////srv/acme/data/crm.db``."""
    return f"sqlite:///{data_dir() / filename}"


@attrs.frozen
class ServiceEntry:
    """One service of a deployment."""

    key: str
    use: str
    spec: ServiceSpec
    config: dict[str, Any] = attrs.field(factory=dict)
    host: str | None = None              # the deployment's host it runs on (None: the only one)
    bind: str | None = None              # the address it binds to (None: CARUSO_BIND or loopback)
    standby: bool = False                # registers as a standby, for failover
    port: int = 0                        # the port it binds to (0: a free one)

    def serve_arguments(self, manager_uri: str) -> list[str]:
        """Arguments of ``caruso serve`` that host this entry; its configuration (which may
        hold credentials) goes on standard input, as JSON, never on the command line."""
        arguments = [self.use, "--name", self.spec.name, "--version", self.spec.version,
                     "--manager", manager_uri, "--config-file", "-"]
        if self.bind:
            arguments += ["--host", self.bind]
        if self.port:
            arguments += ["--port", str(self.port)]
        for key, value in self.spec.properties.items():
            arguments += ["--property", f"{key}={json.dumps(value)}"]
        return arguments


@attrs.frozen
class Host:
    """A machine of a deployment on several hosts: its address and its TLS certificate."""

    name: str
    address: str
    tls: remoting.Tls | None = None


@attrs.frozen
class Deployment:
    """A validated deployment: the manager's settings and the services in start order."""

    source: str
    manager_uri: str
    lease: float
    manager_db: str | None
    services: tuple[ServiceEntry, ...]
    verticals: tuple[str, ...] = ()      # the verticals it was made from (their demo data, ...)
    tls: remoting.Tls | None = None      # the TLS of every process (a host's own, see :meth:`on`)
    hosts: dict[str, Host] = attrs.field(factory=dict)
    manager_hosts: tuple[str, ...] = ()  # the hosts that run a manager (of a group: several)
    part: str | None = None              # the host this deployment runs on (None: all of it here)

    @property
    def runs_manager(self) -> bool:
        """Whether a manager is part of what runs here."""
        return self.part is None or self.part in self.manager_hosts

    @property
    def manager_here(self) -> str:
        """The URI of the manager that runs here: of a group, the one at this host's address
        (without hosts: the first)."""
        uris = remoting.manager_uris(self.manager_uri)
        if self.part is None:
            return uris[0]
        address = self.hosts[self.part].address
        for uri in uris:
            if Pyro5.api.URI(uri).host == address:
                return uri
        raise ConfigError(f"{self.source}: [manager] uri names no manager at {self.part}'s address {address}")

    def on(self, host: str | None) -> "Deployment":
        """The part of a deployment on several hosts that runs on ``host``: its services
        (bound to its address), the manager if it runs there, the host's TLS. None: a
        deployment without hosts as it is. A mismatch is a ConfigError naming the file."""
        if host is None:
            if self.hosts:
                raise ConfigError(f"{self.source} places services on hosts {', '.join(self.hosts)}: "
                                  "start each host's part with 'caruso up --host NAME'")
            return self
        if not self.hosts:
            raise ConfigError(f"{self.source} declares no [hosts.NAME]: start it without --host")
        if host not in self.hosts:
            raise ConfigError(f"{self.source}: no host {host!r} (hosts: {', '.join(self.hosts)})")
        part = attrs.evolve(self, services=tuple(e for e in self.services if e.host == host), part=host,
                            tls=self.hosts[host].tls or self.tls)
        if part.runs_manager:
            part.manager_here    # noqa: B018  (checked now: a ConfigError before anything starts)
        return part


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file at ``path``; a missing or malformed file is a ConfigError naming it (and the line)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None


def load(file: str | None = None, *, manager_port: int | None = None,
         web_port: int | None = None) -> Deployment:
    """The deployment of ``file``, else of ``./caruso.toml`` if present, else the default one,
    placed on the ports given (see :func:`place`)."""
    path = Path(file) if file else Path(DEFAULT_FILE)
    if file is None and not path.exists():
        return parse(place(default_data(), manager_port, web_port), "the default deployment")
    return parse(place(read_toml(path), manager_port, web_port), str(path))


def placed_ports(path: Path) -> tuple[int | None, int | None]:
    """The manager's port (``[manager] uri``) and the front office's (its ``address``) that
    the deployment file at ``path`` sets; None for either it does not set, or without a file."""
    if not path.is_file():
        return None, None
    data = read_toml(path)
    manager, services = data.get("manager"), data.get("services")
    uri = manager.get("uri") if isinstance(manager, dict) else None
    office = services.get("frontoffice") if isinstance(services, dict) else None
    config = office.get("config") if isinstance(office, dict) else None
    address = config.get("address") if isinstance(config, dict) else None
    try:
        managers = remoting.manager_uris(remoting.manager_uri(uri)) if isinstance(uri, str) else []
        web_port = urllib.parse.urlsplit(address).port if isinstance(address, str) else None
    except (ConfigError, ValueError):
        return None, None
    return (Pyro5.api.URI(managers[0]).port if len(managers) == 1 else None), web_port   # a group: no one port


def service_config(interface: str) -> dict[str, Any]:
    """The configuration of the first service of ``interface`` (e.g. ``caruso.storage/1``) in
    the deployment of this folder (``./caruso.toml``, else the default one): the defaults of
    that component's commands run here; empty when the deployment has no such service."""
    return next((entry.config for entry in load().services if entry.spec.interface == interface), {})


def hold_folder(part: str | None = None) -> int:
    """Hold the data folder for the ``caruso up`` of this process (of the deployment's host
    ``part``; the parts of a deployment on several hosts may share a folder): a second one
    of the same part there would run a second solution on the same databases, so it is a
    ConfigError naming the first's pid. The hold is a lock on :data:`UP_LOCK` (``up-PART.lock``
    for a part) that ends with the process however it ends; keep the returned descriptor open."""
    path = data_dir() / (f"{Path(UP_LOCK).stem}-{part}.lock" if part else UP_LOCK)
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:                # a read-only or foreign data folder: nothing could start
        raise ConfigError(f"{path}: cannot write in the data folder ({error.strerror})") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
    except BlockingIOError:
        holder = os.pread(handle, 20, 0).decode("ascii", "replace").strip()
        os.close(handle)
        on = f" for host {part}" if part else ""
        raise ConfigError(f"a caruso up runs in this folder already{on} (pid {holder or 'unknown'}): stop it "
                          f"first, or give this one a data folder of its own (CARUSO_DATA)") from None
    except OSError as error:                # a folder that takes no locks (some network file systems), full
        os.close(handle)
        raise ConfigError(f"{path}: cannot hold the data folder ({error.strerror})") from None
    return handle


def record_manager_uri(uri: str) -> Callable[[], None]:
    """Note in the data folder (:data:`RUNNING_MANAGER_FILE`, 0600) where the manager of the
    ``caruso up`` running here (this process) listens, for commands run in this folder;
    returns what removes the note (if it is still this one) when ``caruso up`` stops. A
    note of a process that is gone (``kill -9``) is not believed, nor one whose process id
    another process has taken since (the note holds when its process started)."""
    path = data_dir() / RUNNING_MANAGER_FILE
    note = f"{uri}\n{os.getpid()}\n{_started(os.getpid()) or ''}\n".encode("utf-8")
    privatefiles.write_file(path, note)

    def forget() -> None:
        with contextlib.suppress(OSError):
            if path.read_bytes() == note:
                path.unlink()
    return forget


def manager_uri_here() -> str | None:
    """Where the manager of the ``caruso up`` running in this folder listens (as it noted:
    its ports may be given on its command line), else the ``[manager] uri`` of
    ``./caruso.toml`` (else that of the hosts its ``[manager] host`` names), if there is one
    (a file that cannot be read says so when it is loaded, not here)."""
    recorded = _recorded_manager_uri()
    if recorded is not None:
        return recorded
    try:
        data = read_toml(Path(DEFAULT_FILE))
    except ConfigError:
        return None
    manager = data.get("manager", {})
    uri = manager.get("uri") if isinstance(manager, dict) else None
    return uri if isinstance(uri, str) else _hosted_manager_uri(data)


def _recorded_manager_uri() -> str | None:
    """What :func:`record_manager_uri` noted, if it is a readable manager address."""
    try:
        with open(data_path() / RUNNING_MANAGER_FILE, "rb") as recorded:
            uri, _, rest = recorded.read(remoting.MAX_MANAGER_LIST + 64).decode("utf-8").partition("\n")
        pid, _, started = rest.partition("\n")
        if not uri or not pid.strip().isdigit() or len(pid) > 20 or int(pid) == 0:
            return None
        os.kill(int(pid), 0)               # ProcessLookupError: that caruso up is gone (PermissionError:
        remoting.manager_uri(uri)          # its pid is another user's now); ConfigError: no address
        if started.strip() and _started(int(pid)) != started.strip():
            return None                    # its pid is another process's now
    except (OSError, UnicodeDecodeError, ConfigError, OverflowError):
        return None
    return uri


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks after boot, from ``/proc``); None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read(4096).rpartition(b")")[2].split()[19].decode("ascii")
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def tls_here() -> remoting.Tls | None:
    """The TLS a process on this machine uses in the deployment of ``./caruso.toml``: that of
    the ``[hosts.NAME]`` whose address this machine has, else that of ``[tls]`` when there are
    no hosts; None without such a file, TLS or host (a file that cannot be read or holds
    mistakes says so when it is loaded, not here)."""
    try:
        data = read_toml(Path(DEFAULT_FILE))
        shared = _tls_files(data.get("tls", {}), TLS_KEYS, DEFAULT_FILE, "[tls]")
        hosts = _hosts(data.get("hosts", {}), DEFAULT_FILE, shared)
        if not hosts:
            return _complete_tls(shared, DEFAULT_FILE, "[tls]") if shared else None
    except ConfigError:
        return None
    return next((host.tls for host in hosts.values() if host.tls and _is_local(host.address)), None)


def _is_local(address: str) -> bool:
    """Whether this machine has ``address`` (a socket can bind to it)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def default() -> Deployment:
    """Every installed service that says ``autostart=True``, with its own defaults."""
    return parse(default_data(), "the default deployment")


def default_data() -> dict[str, Any]:
    """The default deployment as TOML data."""
    entries = {}
    for name, entry in sorted(plugins.group(plugins.SERVICES_GROUP).items()):
        try:
            loaded = entry.load()
        except ModuleNotFoundError:       # an optional component whose extra is not installed
            continue
        if spec_of(loaded).autostart:
            entries[name] = {"use": name}
    return {"services": entries}


def place(data: dict[str, Any], manager_port: int | None = None, web_port: int | None = None) -> dict[str, Any]:
    """``data`` (a deployment as TOML data, changed in place and returned) with the manager
    on ``manager_port`` (its address kept; else ``CARUSO_MANAGER`` or the file's) and the
    front office on ``web_port``, its web chat on ``web_port + 1`` (None: as they are);
    ConfigError when the manager's port is one of those two."""
    if manager_port is not None and web_port is not None and manager_port in (web_port, web_port + 1):
        raise ConfigError(f"--manager-port {manager_port} clashes with --web-port {web_port}: the front office "
                          f"takes {web_port} and its web chat {web_port + 1}")
    manager = data.setdefault("manager", {})
    if manager_port is not None:
        manager["uri"] = remoting.with_port(manager.get("uri") or _hosted_manager_uri(data)
                                            or remoting.manager_uri(), manager_port)
    if web_port is None:
        return data
    for key, service in data.get("services", {}).items():
        interface = spec_of(plugins.load_service_class(str(service.get("use", key)))).interface
        config = service.setdefault("config", {})
        if interface == "caruso.frontoffice/1":
            address = urllib.parse.urlsplit(config.get("address") or "http://127.0.0.1:8080")
            config["address"] = f"{address.scheme}://{address.hostname}:{web_port}"
        elif interface == "caruso.comm/1" and "webchat" in config.get("channels", {}):
            config["channels"]["webchat"]["port"] = web_port + 1
    return data


def parse(data: dict[str, Any], source: str) -> Deployment:
    """Validate a deployment given as parsed TOML; errors name the source and the key."""
    manager = _table(data.get("manager", {}), f"{source}: [manager]")
    _only(manager, MANAGER_KEYS, f"{source}: [manager]")
    unknown = set(data) - {"manager", "services", "verticals", "timezone", "tls", "hosts"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}; "
                          "expected verticals, timezone, [manager], [services.NAME], [tls] and [hosts.NAME]")
    timezone = data.get("timezone")
    if timezone is not None:
        zones.zone(timezone, f"{source}: timezone")
    shared = _tls_files(data.get("tls", {}), TLS_KEYS, source, "[tls]")
    hosts = _hosts(data.get("hosts", {}), source, shared)
    tls = _complete_tls(shared, source, "[tls]") if shared and not hosts else None   # with hosts: each host's
    named = manager.get("host")
    if isinstance(named, list) and named and all(isinstance(name, str) for name in named):
        manager_hosts = tuple(dict.fromkeys(_placed({"host": name}, hosts, f"{source}: [manager]") for name in named))
    elif named is None or isinstance(named, str):
        manager_hosts = tuple(name for name in [_placed(manager, hosts, f"{source}: [manager]")] if name)
    else:
        raise ConfigError(f"{source}: [manager] host is a host's name, or a list of them for a group of managers")
    verticals = data.get("verticals", [])
    if not isinstance(verticals, list) or not all(isinstance(name, str) and name for name in verticals):
        raise ConfigError(f"{source}: verticals is a list of vertical names, e.g. verticals = [\"utility\"]")
    entries = []
    for key, raw in _table(data.get("services", {}), f"{source}: [services]").items():
        where = f"{source}: [services.{key}]"
        table = _table(raw, where)
        _only(table, SERVICE_KEYS, where)
        if "use" not in table:
            raise ConfigError(f"{where}: 'use' is missing (an installed service name or package.module:Class)")
        for text in ("use", "name", "version"):
            if text in table and not isinstance(table[text], str):
                raise ConfigError(f"{where}: {text} is text (in quotes), not {table[text]!r}")
        requires = table.get("requires", [])
        if not isinstance(requires, list) or not all(isinstance(interface, str) for interface in requires):
            raise ConfigError(f"{where}: requires is a list of interfaces, e.g. requires = [\"caruso.storage/1\"]")
        properties = _table(table.get("properties", {}), f"{where} properties")
        config = _table(table.get("config", {}), f"{where} config")
        try:
            service_class = plugins.load_service_class(table["use"])
            base = spec_of(service_class)
            spec = base.evolve(name=table.get("name", key), version=table.get("version"),
                               properties={**base.properties, **properties},
                               requires=tuple(dict.fromkeys([*base.requires, *requires])))
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
        host = _placed(table, hosts, where)
        standby = table.get("standby", False)
        if not isinstance(standby, bool):
            raise ConfigError(f"{where}: standby is true or false")
        port = table.get("port", 0)
        if type(port) is not int or not 0 <= port <= 65535:
            raise ConfigError(f"{where}: port is a number from 1 to 65535 (0: a free one)")
        if timezone is not None and "timezone" not in config and _takes(service_class, "timezone"):
            config = {**config, "timezone": timezone}
        entries.append(ServiceEntry(key, table["use"], spec, config, host, hosts[host].address if host else None,
                                    standby, port))
    lease = manager.get("lease", 10.0)
    if not isinstance(lease, (int, float)) or isinstance(lease, bool) or not 0.2 <= lease < math.inf:
        raise ConfigError(f"{source}: [manager] lease must be a number of seconds >= 0.2")
    uri = remoting.manager_uri(manager.get("uri") or _hosted_manager_uri(data), f"{source}: [manager] uri")
    return Deployment(source, uri, float(lease), manager.get("db"), tuple(start_order(entries, source)),
                      tuple(verticals), tls, hosts, manager_hosts)


def _takes(service_class: type, name: str) -> bool:
    """Whether ``service_class``'s constructor has a parameter ``name``."""
    try:
        return name in inspect.signature(service_class).parameters
    except (TypeError, ValueError):      # no signature to read: it takes what its config gives
        return False


def _tls_files(raw: Any, allowed: set[str], source: str, where: str) -> dict[str, str]:
    """The TLS files a table names (of ``ca``, ``cert``, ``key``), made absolute; each must
    be a readable file."""
    table = _table(raw, f"{source}: {where}")
    _only(table, allowed, f"{source}: {where}")
    paths = {}
    for key in TLS_KEYS & set(table):
        value = table[key]
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{source}: {where} {key} is the path of a PEM file")
        path = Path(value).resolve()
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            raise ConfigError(f"{source}: {where} {key} {value}: cannot read it ({error.strerror})") from None
        paths[key] = str(path)
    return paths


def _complete_tls(files: dict[str, str], source: str, where: str) -> remoting.Tls:
    missing = sorted(TLS_KEYS - set(files))
    if missing:
        raise ConfigError(f"{source}: {where} TLS needs ca, cert and key (in [tls] or the host's table); "
                          f"missing: {', '.join(missing)}")
    return remoting.Tls(**files)


def _hosts(raw: Any, source: str, shared: dict[str, str]) -> dict[str, Host]:
    """The ``[hosts.NAME]`` tables: an address each, and the TLS files of that host (its
    own ``cert`` and ``key`` over those of ``[tls]``)."""
    from caruso_core.certificates import parse_address

    hosts = {}
    for name, value in _table(raw, f"{source}: [hosts]").items():
        where = f"[hosts.{name}]"
        table = _table(value, f"{source}: {where}")
        own = _tls_files({k: v for k, v in table.items() if k != "address"}, HOST_KEYS - {"address"}, source, where)
        address = table.get("address")
        if not isinstance(address, str) or parse_address(address) is None:
            raise ConfigError(f"{source}: {where} address {address!r}: give the IP address or DNS name "
                              "its services bind to")
        files = {**shared, **own}
        hosts[name] = Host(name, address, _complete_tls(files, source, where) if files else None)
    return hosts


def _hosted_manager_uri(data: dict[str, Any]) -> str | None:
    """The managers' default URIs (comma-separated) at the addresses of the hosts ``[manager]
    host`` names, if any."""
    try:
        named = data["manager"]["host"]
        addresses = [data["hosts"][name]["address"] for name in ([named] if isinstance(named, str) else named)]
    except (KeyError, TypeError):
        return None
    return ",".join(f"PYRO:{remoting.MANAGER_OBJECT_ID}@{f'[{a}]' if ':' in str(a) else a}:"
                    f"{remoting.DEFAULT_MANAGER_PORT}" for a in addresses)


def _placed(table: dict[str, Any], hosts: dict[str, Host], where: str) -> str | None:
    """The host a ``[manager]`` or ``[services.NAME]`` table names (needed when there are hosts)."""
    host = table.get("host")
    if host is None and hosts:
        raise ConfigError(f"{where}: host is missing: the deployment has [hosts] "
                          f"({', '.join(hosts)}), so say which one runs it")
    if host is not None and host not in hosts:
        raise ConfigError(f"{where}: host {host!r} is not one of the deployment's [hosts] "
                          f"({', '.join(hosts) or 'none declared'})")
    return host


def start_order(entries: list[ServiceEntry], source: str) -> list[ServiceEntry]:
    """Entries ordered so that providers of required interfaces come first."""
    providers: dict[str, list[str]] = {}
    for entry in entries:
        providers.setdefault(entry.spec.interface, []).append(entry.key)
    by_key = {entry.key: entry for entry in entries}
    ordered: list[ServiceEntry] = []
    state: dict[str, str] = {}

    def visit(key: str, path: list[str]) -> None:
        if state.get(key) == "done":
            return
        if state.get(key) == "visiting":
            raise ConfigError(f"{source}: services require each other in a circle: {' -> '.join(path + [key])}")
        state[key] = "visiting"
        for interface in by_key[key].spec.requires:
            if interface not in providers:
                raise ConfigError(f"{source}: service {key!r} requires {interface}, "
                                  "which no service of the deployment provides")
            for provider in providers[interface]:
                visit(provider, path + [key])
        state[key] = "done"
        ordered.append(by_key[key])

    for entry in entries:
        visit(entry.key, [])
    return ordered


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")
