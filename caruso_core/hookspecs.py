"""Every in-process extension point of caruso, in one place.

A plugin is a module (or object) with functions marked ``@caruso_core.hookimpl``
and named after the hooks below; it is found through the entry point group
``caruso.plugins`` (``name = package.module``). The standard plugins of caruso are
registered exactly that way. Each hook returns a mapping from a name to the thing
provided; when two plugins provide the same name, the one registered last wins, so
an integrator's plugin overrides a standard one.
"""
from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("caruso")
hookimpl = pluggy.HookimplMarker("caruso")


@hookspec
def caruso_routing_strategies() -> dict[str, type]:
    """ACD routing strategies by name (e.g. ``"longest_idle"``), for the communication server."""


@hookspec
def caruso_channels() -> dict[str, type]:
    """Communication channels by name (e.g. ``"sim"``, ``"webchat"``, ``"email"``)."""


@hookspec
def caruso_script_actions() -> dict[str, Callable[..., Any]]:
    """Actions that dialog-script transitions can run, by the name used in scripts."""


@hookspec
def caruso_rule_actions() -> dict[str, Callable[..., Any]]:
    """Actions that business rules of the object model can run, by name."""


@hookspec
def caruso_model_modules() -> dict[str, str]:
    """Model modules by name: paths of XML files of business objects that a model includes
    with ``<include module="NAME"/>`` (e.g. ``"sales"``: opportunities, quotes, sales orders)."""


@hookspec
def caruso_report_renderers() -> dict[str, Callable[..., Any]]:
    """Report output formats by name (e.g. ``"csv"``, ``"png"``)."""
