"""Verticals: installable bundles that configure a solution for one market.

A vertical is a package with a ``vertical.toml`` beside its ``__init__.py``, found
through the entry point group ``caruso.verticals`` (``utility = caruso_utility``)::

    name = "utility"
    version = "1.0.0"
    description = "Energy and water utility: connections, meters, readings, invoices"
    depends = []                          # verticals this one extends, applied first

    [services.storage]
    files = { model = ["model.xml"] }     # paths relative to this folder
    [services.scripts]
    files = { scripts = ["scripts"] }
    [services.erp]                        # a service the vertical adds to the deployment
    use = "erp"
    config = { url = "http://erp.example.local/RPC2" }

A deployment for a list of verticals starts from the default deployment (every
installed service with ``autostart``) and applies each vertical, those it depends on
first. ``files`` are made absolute and merged into the service's configuration with
``config``: a list is appended to what earlier verticals gave (base files first, so a
component that merges files by id lets an extension override one view or script
without copying the rest, and the storage applies model files in order, so an
integrator's model extends the objects of the vendor's vertical it depends on); any
other value replaces the earlier one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import attrs
import tomli_w

from caruso_core import plugins
from caruso_core.deployment import DEFAULT_FILE, default, parse, place, read_toml
from caruso_core.errors import ConfigError

VERTICALS_GROUP = "caruso.verticals"
MANIFEST = "vertical.toml"
TOP_KEYS = {"name", "version", "description", "depends", "services"}
SERVICE_KEYS = {"use", "files", "config", "requires", "properties"}


@attrs.frozen
class Vertical:
    """A vertical's manifest, read from its folder."""

    name: str
    version: str
    description: str
    depends: tuple[str, ...]
    services: dict[str, dict[str, Any]]
    root: Path

    def service_settings(self) -> dict[str, dict[str, Any]]:
        """Each service's settings with ``files`` made absolute and folded into ``config``."""
        settings = {}
        for key, table in self.services.items():
            config = dict(table.get("config", {}))
            for name, paths in table.get("files", {}).items():
                listed = paths if isinstance(paths, list) else [paths]
                absolute = [str((self.root / p).resolve()) for p in listed]
                config[name] = absolute if isinstance(paths, list) else absolute[0]
            settings[key] = {**{k: v for k, v in table.items() if k not in ("files", "config")},
                             "config": config}
        return settings


def installed() -> dict[str, Vertical]:
    """Every installed vertical, by name."""
    found = {}
    for name, entry in plugins.group(VERTICALS_GROUP).items():
        module = entry.load()
        found[name] = read(Path(module.__file__).parent / MANIFEST)
    return found


def read(path: Path) -> Vertical:
    """The vertical whose manifest is at ``path``; errors name the file and the key."""
    data = read_toml(path)
    unknown = set(data) - TOP_KEYS
    if unknown or "name" not in data or "version" not in data:
        raise ConfigError(f"{path}: needs name and version; allowed keys: {', '.join(sorted(TOP_KEYS))}"
                          + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""))
    depends = data.get("depends", [])
    if not isinstance(depends, list) or not all(isinstance(name, str) and name for name in depends):
        raise ConfigError(f"{path}: depends is a list of vertical names, e.g. depends = [\"utility\"]")
    services = data.get("services", {})
    for key, table in services.items():
        extra = set(table) - SERVICE_KEYS if isinstance(table, dict) else {"(not a table)"}
        if extra:
            raise ConfigError(f"{path}: [services.{key}] unknown key(s) {', '.join(sorted(extra))}; "
                              f"allowed: {', '.join(sorted(SERVICE_KEYS))}")
        for name, paths in table.get("files", {}).items():
            for relative in paths if isinstance(paths, list) else [paths]:
                if not (path.parent / relative).exists():
                    raise ConfigError(f"{path}: [services.{key}] files.{name}: {relative} does not exist")
    return Vertical(str(data["name"]), str(data["version"]), str(data.get("description", "")),
                    tuple(depends), services, path.parent)


def chain(names: list[str], known: dict[str, Vertical]) -> list[Vertical]:
    """The verticals to apply for ``names``: each after those it depends on, once each."""
    ordered: list[Vertical] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ConfigError(f"verticals depend on each other in a circle: {' -> '.join(path + (name,))}")
        if name not in known:
            raise ConfigError(f"no vertical named {name!r} is installed "
                              f"(installed: {', '.join(sorted(known)) or 'none'})")
        for dependency in known[name].depends:
            visit(dependency, path + (name,))
        if known[name] not in ordered:
            ordered.append(known[name])

    for name in names:
        visit(name, ())
    return ordered


def deployment_data(names: list[str], known: dict[str, Vertical] | None = None) -> dict[str, Any]:
    """The deployment file's content (as TOML data) for the default services plus ``names``."""
    services: dict[str, dict[str, Any]] = {entry.key: {"use": entry.use} for entry in default().services}
    for vertical in chain(names, installed() if known is None else known):
        for key, settings in vertical.service_settings().items():
            target = services.setdefault(key, {})
            if "use" not in target and "use" not in settings:
                raise ConfigError(f"vertical {vertical.name} configures service {key!r}, which the deployment "
                                  "does not have; give it 'use'")
            for field, value in settings.items():
                if field == "config":
                    target["config"] = _merged(target.get("config", {}), value)
                elif isinstance(value, list):
                    target[field] = [*target.get(field, []), *value]
                elif isinstance(value, dict):
                    target[field] = {**target.get(field, {}), **value}
                else:
                    target[field] = value
    data = {"services": services}
    parse(data, "the generated deployment")
    return data


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = [*merged.get(key, []), *value] if isinstance(value, list) else value
    return merged


def write_deployment(folder: Path, names: list[str], *, manager_port: int | None = None,
                     web_port: int | None = None) -> Path:
    """Write ``folder/caruso.toml`` for ``names`` atomically (nothing half-written), placed on
    the ports given (:func:`caruso_core.deployment.place`); return its path."""
    data = place(deployment_data(names), manager_port, web_port)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / DEFAULT_FILE
    header = f"# caruso deployment: default services{''.join(', ' + n for n in names)}\n"
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp", encoding="utf-8") as file:
        file.write(header + tomli_w.dumps(data))
    os.replace(file.name, target)
    return target
