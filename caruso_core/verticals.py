"""Verticals: installable bundles that configure a solution for one market.

A vertical is a package with a ``vertical.toml`` beside its ``__init__.py``, found
through the entry point group ``caruso.verticals`` (``utility = caruso_utility``)::

    name = "utility"
    version = "1.0.0"
    description = "Energy and water utility: connections, meters, readings, invoices"
    depends = []                          # verticals this one extends, applied first
    demo = "caruso_utility.demo:load"     # optional: demo data (caruso data demo)

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
``config`` (a list in both, such as ``views``, is config's entries, e.g. packaged
``package:path`` resources, then the files): a list is appended to what earlier verticals gave (base files first, so a
component that merges files by id lets an extension override one view or script
without copying the rest, and the storage applies model files in order, so an
integrator's model extends the objects of the vendor's vertical it depends on); a table
is merged key by key the same way (a layer's ``source`` adds events to those of the layer
it depends on); any other value replaces the earlier one.

A layer is a vertical that adds one capability to whichever vertical comes before it (the
analytics layer ``analytics`` extends Customer and the views every vertical shares); a
vertical's own variant of it depends on both (``depends = ["utility", "analytics"]``) and
carries only what differs by vertical, so ``caruso init acme --vertical utility-analytics``
switches it on.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import attrs
import tomli_w

from caruso_core import plugins, progress, zones
from caruso_core.deployment import DEFAULT_FILE, default, parse, place, read_toml
from caruso_core.errors import ConfigError

VERTICALS_GROUP = "caruso.verticals"
MANIFEST = "vertical.toml"
TOP_KEYS = {"name", "version", "description", "depends", "demo", "services"}
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
    demo: str | None = None        # "module:function" loading demo data through a storage service

    def service_settings(self, place_file: Callable[["Vertical", str], str] | None = None) -> dict[str, dict[str, Any]]:
        """Each service's settings with ``files`` folded into ``config``: absolute paths into
        the vertical's folder, or what ``place_file(vertical, relative path)`` makes of them."""
        settings = {}
        for key, table in self.services.items():
            config = dict(table.get("config", {}))
            for name, paths in table.get("files", {}).items():
                listed = paths if isinstance(paths, list) else [paths]
                placed = [place_file(self, p) if place_file else str((self.root / p).resolve()) for p in listed]
                config[name] = [*config.get(name, []), *placed] if isinstance(paths, list) else placed[0]
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
    demo = data.get("demo")
    if demo is not None and (not isinstance(demo, str) or ":" not in demo):
        raise ConfigError(f"{path}: demo names a function as \"module:function\", e.g. demo = \"caruso_utility.demo:load\"")
    services = data.get("services", {})
    for key, table in services.items():
        extra = set(table) - SERVICE_KEYS if isinstance(table, dict) else {"(not a table)"}
        if extra:
            raise ConfigError(f"{path}: [services.{key}] unknown key(s) {', '.join(sorted(extra))}; "
                              f"allowed: {', '.join(sorted(SERVICE_KEYS))}")
        for name, paths in table.get("files", {}).items():
            config = table.get("config", {})
            given = config.get(name) if isinstance(config, dict) else None
            if given is not None and not (isinstance(paths, list) and isinstance(given, list)):
                raise ConfigError(f"{path}: [services.{key}] names {name} in both files and config; "
                                  "both must be lists (config's entries come first)")
            for relative in paths if isinstance(paths, list) else [paths]:
                if not (path.parent / relative).exists():
                    raise ConfigError(f"{path}: [services.{key}] files.{name}: {relative} does not exist")
    return Vertical(str(data["name"]), str(data["version"]), str(data.get("description", "")),
                    tuple(depends), services, path.parent, demo)


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


def deployment_data(names: list[str], known: dict[str, Vertical] | None = None,
                    place_file: Callable[[Vertical, str], str] | None = None) -> dict[str, Any]:
    """The deployment file's content (as TOML data) for the default services plus ``names``
    (``place_file``: see :meth:`Vertical.service_settings`)."""
    services: dict[str, dict[str, Any]] = {entry.key: {"use": entry.use} for entry in default().services}
    for vertical in chain(names, installed() if known is None else known):
        for key, settings in vertical.service_settings(place_file).items():
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
    data = {"verticals": list(names), "services": services} if names else {"services": services}
    parse(data, "the generated deployment")
    return data


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``: lists appended, tables merged key by key, other values replaced."""
    merged = dict(base)
    for key, value in extra.items():
        earlier = merged.get(key)
        if isinstance(value, list):
            merged[key] = [*(earlier or []), *value]
        elif isinstance(value, dict) and isinstance(earlier, dict):
            merged[key] = _merged(earlier, value)
        else:
            merged[key] = value
    return merged


def write_deployment(folder: Path, names: list[str], *, manager_port: int | None = None,
                     web_port: int | None = None, own_copies: bool = False, timezone: str | None = None) -> Path:
    """Write ``folder/caruso.toml`` for ``names`` atomically (nothing half-written), placed on
    the ports given (:func:`caruso_core.deployment.place`) and in the time zone given (none:
    a comment shows how to set one); return its path. ``own_copies``: the verticals' files
    are copied into ``folder`` (see :func:`copier`) and the file names the copies by paths
    relative to it."""
    target = folder / DEFAULT_FILE
    if timezone is not None:
        zones.zone(timezone, f"{target}: timezone")
    check_services(deployment_data(names), folder)     # the verticals' own files, before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    data = place(deployment_data(names, place_file=copier(folder) if own_copies else None), manager_port, web_port)
    header = f"# caruso deployment: default services{''.join(', ' + n for n in names)}\n"
    if timezone is None:
        header += ('# timezone = "Europe/Amsterdam"   # the business\'s time zone (default UTC): the times pages show\n'
                   "#                                 # and take, and the day a model's today is\n")
    else:
        data = {"timezone": timezone, **data}
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp", encoding="utf-8") as file:
        file.write(header + tomli_w.dumps(data))
    os.replace(file.name, target)
    return target


def check_services(data: dict[str, Any], folder: Path) -> None:
    """Each service's own check of its configuration in the deployment ``data`` (its class's
    ``check_config``, see :mod:`caruso_core.contract`), with relative paths in ``folder``;
    ConfigError naming the service (the classes load: :func:`deployment_data` parsed it)."""
    for key, table in data["services"].items():
        check = getattr(plugins.load_service_class(table["use"]), "check_config", None)
        if check is not None:
            try:
                check(dict(table.get("config") or {}), folder)
            except ConfigError as error:
                raise ConfigError(f"service {key}: {error}") from None


def copier(folder: Path) -> Callable[[Vertical, str], str]:
    """A ``place_file`` that copies a vertical's file or folder into ``folder`` under its own
    relative path (``model.xml``, ``scripts``), or under ``VERTICAL/PATH`` when an earlier
    vertical took that path, and returns where it went, relative to ``folder``."""
    taken: set[str] = set()

    def place_file(vertical: Vertical, relative: str) -> str:
        target = Path(relative) if relative not in taken else Path(vertical.name) / relative
        taken.add(target.as_posix())
        source, destination = vertical.root / relative, folder / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, destination)
        return target.as_posix()

    return place_file


DemoLoader = Callable[[Any, int], dict[str, int]]


def demo_loaders(names: list[str], known: dict[str, Vertical] | None = None) -> list[tuple[str, DemoLoader]]:
    """The demo-data functions of ``names`` and the verticals they extend, in order, as
    (vertical, function). A function takes a storage service (a proxy or in-process) and a
    number of customers, creates its records through the service and returns how many of
    each object it made. None of them declaring demo data is a ConfigError."""
    ordered = chain(names, installed() if known is None else known)
    loaders = [(vertical.name, plugins.load_object(vertical.demo)) for vertical in ordered if vertical.demo]
    if not loaders:
        raise ConfigError(f"vertical(s) {', '.join(names)} have no demo data (no 'demo' in their {MANIFEST})")
    return loaders


def load_generated(storage: Any, records: Iterable[tuple[str, dict[str, Any]]], parents_first: Sequence[str],
                   label: str, batch: int = 2000) -> dict[str, int]:
    """Create ``records`` (``(object, values)`` pairs, each parent before its children, keys
    given) through a storage service, in process or a proxy, in atomic batches, showing
    ``label`` with a progress bar; returns how many of each object were created. A batch
    travels as one JSON text (much cheaper to decode than nested values), its creates sorted
    by ``parents_first`` (the storage inserts a run of one object's creates in one statement,
    and every parent is in this or an earlier batch), and only a count comes back."""
    rank = {name: position for position, name in enumerate(parents_first)}
    counts: dict[str, int] = {}
    operations: list[dict[str, Any]] = []

    def send() -> None:
        operations.sort(key=lambda operation: rank[operation["object"]])
        storage.apply(json.dumps(operations), results="count")
        operations.clear()

    for object_name, values in progress.bar(records, label):
        operations.append({"op": "create", "object": object_name, "values": values})
        counts[object_name] = counts.get(object_name, 0) + 1
        if len(operations) >= batch:
            send()
    if operations:
        send()
    return counts
