"""Finding components: entry point groups and the pluggy plugin manager.

Entry point groups (the standard components use them exactly like third parties):

``caruso.services``  ``name = package.module:Class``, a class decorated with ``@service``
``caruso.hookspecs`` ``name = package.module``, a module with a component's ``@hookspec`` functions
``caruso.plugins``   ``name = package.module``, a module with ``@hookimpl`` functions
``caruso.commands``  ``name = package.module:command``, a click command under ``caruso``

A plugin entry point whose name is taken already (caruso's own are loaded first) is not
loaded, and said so (a warning naming both); see :mod:`caruso_core.hookspecs` for how plugins
that provide the same name are ordered.
"""
from __future__ import annotations

import functools
import importlib
import logging
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from caruso_core.errors import ConfigError

log = logging.getLogger("caruso.plugins")

SERVICES_GROUP = "caruso.services"
HOOKSPECS_GROUP = "caruso.hookspecs"
PLUGINS_GROUP = "caruso.plugins"
STANDARD = "caruso"           # the distribution of the standard components
COMMANDS_GROUP = "caruso.commands"


def group(name: str, fresh: bool = False) -> dict[str, EntryPoint]:
    """The entry points of a group, by name; read once for each import path (``sys.path``),
    unless ``fresh`` (a distribution installed since may have added some)."""
    if fresh:
        _group.cache_clear()
    return dict(_group(name, tuple(sys.path)))


@functools.lru_cache(maxsize=64)
def _group(name: str, _path: tuple[str, ...]) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=name)}   # every installed distribution's metadata


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager: every component's hookspecs, then every plugin."""
    manager = pluggy.PluginManager("caruso")
    for entry in entry_points(group=HOOKSPECS_GROUP):
        manager.add_hookspecs(entry.load())
    standard_first = sorted(entry_points(group=PLUGINS_GROUP), key=lambda e: _distribution(e) != STANDARD)
    for entry in standard_first:
        holder = manager.get_plugin(entry.name)
        if holder is not None:
            log.warning("plugin %r of %s is not loaded: %s registered that name already; rename "
                        "one of the entry points (group %s)", entry.name, _distribution(entry),
                        getattr(holder, "__name__", holder), PLUGINS_GROUP)
            continue
        manager.register(entry.load(), name=entry.name)
    return manager


def provided(hook_name: str, manager: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """Merge the mappings the plugins return for a hook by precedence (see
    :mod:`caruso_core.hookspecs`): ``tryfirst`` over plain over ``trylast``; a name that
    two plugins of the same precedence provide is reported and the later one wins."""
    manager = manager or plugin_manager()
    merged: dict[str, Any] = {}
    origin: dict[str, tuple[int, str]] = {}
    for implementation in getattr(manager.hook, hook_name).get_hookimpls():   # lowest precedence first
        rank = 2 if implementation.tryfirst else 0 if implementation.trylast else 1
        who = implementation.plugin_name
        for name, thing in (implementation.function() or {}).items():
            earlier = origin.get(name)
            if earlier is not None and earlier[0] == rank and merged[name] is not thing:
                log.warning("%s %r is provided by %s and by %s; %s wins (mark one @hookimpl(tryfirst=True) "
                            "to choose)", hook_name, name, earlier[1], who, who)
            merged[name], origin[name] = thing, (rank, who)
    return merged


def _distribution(entry: EntryPoint) -> str:
    return entry.dist.name if entry.dist is not None else entry.value


def load_object(reference: str) -> Any:
    """Import ``package.module:attribute``; a bad reference is a one-line ConfigError."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{reference!r} is not a reference: write it as package.module:Name")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"cannot import {module_name!r} for {reference!r}: {error}") from None
    try:
        return functools.reduce(getattr, attribute.split("."), module)
    except AttributeError:
        raise ConfigError(f"module {module_name!r} has no {attribute!r} (from {reference!r})") from None


def load_service_class(reference: str) -> type:
    """A service class from ``package.module:Class`` or a ``caruso.services`` entry point name.
    An entry point whose module needs a package that is not installed is a one-line
    ConfigError naming the module (and ``pip install 'dist[name]'`` where the service's
    distribution has an extra of the service's name)."""
    if ":" in reference:
        return load_object(reference)
    known = group(SERVICES_GROUP)
    if reference not in known:
        known = group(SERVICES_GROUP, fresh=True)       # installed since it was read?
    if reference not in known:
        names = ", ".join(sorted(known)) or "none installed"
        raise ConfigError(f"no service implementation named {reference!r} (entry point group "
                          f"{SERVICES_GROUP}: {names}); or give package.module:Class")
    entry = known[reference]
    try:
        return entry.load()
    except ModuleNotFoundError as error:     # an optional dependency left out of the install
        if (error.name or "").partition(".")[0] == entry.module.partition(".")[0]:
            raise                            # a module of the component itself: a bug, not an install
        raise ConfigError(f"service {reference!r} ({entry.value}) needs the module {error.name!r}, "
                          f"which is not installed{_install_hint(entry, reference)}") from None


def _install_hint(entry: EntryPoint, extra: str) -> str:
    """How to install what a service of ``entry``'s distribution needs: its extra of the
    same name, where the distribution declares one."""
    if entry.dist is None or extra not in (entry.dist.metadata.get_all("Provides-Extra") or []):
        return ""
    return f": pip install '{entry.dist.name}[{extra}]'"
