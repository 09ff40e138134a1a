"""Finding components: entry point groups and the pluggy plugin manager.

Entry point groups (the standard components use them exactly like third parties):

``caruso.services``  ``name = package.module:Class``, a class decorated with ``@service``
``caruso.plugins``   ``name = package.module``, a module with ``@hookimpl`` functions
``caruso.commands``  ``name = package.module:command``, a click command under ``caruso``
"""
from __future__ import annotations

import functools
import importlib
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from caruso_core import hookspecs
from caruso_core.errors import ConfigError

SERVICES_GROUP = "caruso.services"
PLUGINS_GROUP = "caruso.plugins"
COMMANDS_GROUP = "caruso.commands"


def group(name: str) -> dict[str, EntryPoint]:
    """The entry points of a group, by name."""
    return {ep.name: ep for ep in entry_points(group=name)}


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with every ``caruso.plugins`` entry point loaded."""
    manager = pluggy.PluginManager("caruso")
    manager.add_hookspecs(hookspecs)
    manager.load_setuptools_entrypoints(PLUGINS_GROUP)
    return manager


def provided(hook_name: str, manager: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """Merge the mappings every plugin returns for a hook; the last registered wins."""
    merged: dict[str, Any] = {}
    hook = getattr((manager or plugin_manager()).hook, hook_name)
    for mapping in reversed(hook()):
        merged.update(mapping or {})
    return merged


def load_object(reference: str) -> Any:
    """Import ``package.module:attribute``; a bad reference is a one-line ConfigError."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{reference!r} is not a reference: write it as package.module:Name")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"cannot import {module_name!r} for {reference!r}: {error}") from None
    try:
        return functools.reduce(getattr, attribute.split("."), module)
    except AttributeError:
        raise ConfigError(f"module {module_name!r} has no {attribute!r} (from {reference!r})") from None


def load_service_class(reference: str) -> type:
    """A service class from ``package.module:Class`` or a ``caruso.services`` entry point name."""
    if ":" in reference:
        return load_object(reference)
    known = group(SERVICES_GROUP)
    if reference not in known:
        names = ", ".join(sorted(known)) or "none installed"
        raise ConfigError(f"no service implementation named {reference!r} (entry point group "
                          f"{SERVICES_GROUP}: {names}); or give package.module:Class")
    return known[reference].load()
