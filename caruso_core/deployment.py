"""Deployments: the services of one solution, their configuration, and where data lives.

A deployment file (TOML, default ``caruso.toml`` in the current folder)::

    verticals = ["utility"]          # optional: what it was made from (caruso data demo)

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

Relative paths in it (model, scripts, views, the data folder) are relative to its folder:
``caruso up`` runs there. Without a file, the default deployment starts every installed service whose class
says ``autostart=True``. Services start in dependency order: a service starts after
every service of the deployment that provides an interface it requires.
"""
from __future__ import annotations

import json
import os
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import attrs

from caruso_core import plugins, privatefiles, remoting
from caruso_core.contract import ServiceSpec, spec_of
from caruso_core.errors import ConfigError

DEFAULT_DATA_DIR = "data"
DEFAULT_FILE = "caruso.toml"
SERVICE_KEYS = {"use", "requires", "name", "version", "properties", "config"}
MANAGER_KEYS = {"uri", "lease", "db"}


def data_path() -> Path:
    """Where the deployment's data folder is: ``CARUSO_DATA``, else ``./data`` (not created)."""
    return Path(os.environ.get("CARUSO_DATA") or DEFAULT_DATA_DIR).resolve()


def data_dir() -> Path:
    """The deployment's data folder (see :func:`data_path`); created on demand, 0700
    (see :mod:`caruso_core.privatefiles`)."""
    return privatefiles.create_folder(data_path())


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

    def serve_arguments(self, manager_uri: str) -> list[str]:
        """Arguments of ``caruso serve`` that host this entry; its configuration (which may
        hold credentials) goes on standard input, as JSON, never on the command line."""
        arguments = [self.use, "--name", self.spec.name, "--version", self.spec.version,
                     "--manager", manager_uri, "--config-file", "-"]
        for key, value in self.spec.properties.items():
            arguments += ["--property", f"{key}={json.dumps(value)}"]
        return arguments


@attrs.frozen
class Deployment:
    """A validated deployment: the manager's settings and the services in start order."""

    source: str
    manager_uri: str
    lease: float
    manager_db: str | None
    services: tuple[ServiceEntry, ...]
    verticals: tuple[str, ...] = ()      # the verticals it was made from (their demo data, ...)


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


def manager_uri_here() -> str | None:
    """The ``[manager] uri`` of ``./caruso.toml``, if there is one (a file that cannot be
    read says so when it is loaded, not here)."""
    try:
        manager = read_toml(Path(DEFAULT_FILE)).get("manager", {})
    except ConfigError:
        return None
    uri = manager.get("uri") if isinstance(manager, dict) else None
    return uri if isinstance(uri, str) else None


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
    front office on ``web_port``, its web chat on ``web_port + 1`` (None: as they are)."""
    manager = data.setdefault("manager", {})
    if manager_port is not None:
        manager["uri"] = remoting.with_port(manager.get("uri") or remoting.manager_uri(), manager_port)
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
    unknown = set(data) - {"manager", "services", "verticals"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}; "
                          "expected verticals, [manager] and [services.NAME]")
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
        try:
            base = spec_of(plugins.load_service_class(str(table["use"])))
            spec = base.evolve(name=table.get("name", key), version=table.get("version"),
                               properties={**base.properties, **_table(table.get("properties", {}), where)},
                               requires=tuple(dict.fromkeys([*base.requires, *table.get("requires", [])])))
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
        entries.append(ServiceEntry(key, str(table["use"]), spec, _table(table.get("config", {}), where)))
    lease = manager.get("lease", 10.0)
    if not isinstance(lease, (int, float)) or lease < 0.2:
        raise ConfigError(f"{source}: [manager] lease must be a number of seconds >= 0.2")
    return Deployment(source, remoting.manager_uri(manager.get("uri")), float(lease),
                      manager.get("db"), tuple(start_order(entries, source)), tuple(verticals))


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
