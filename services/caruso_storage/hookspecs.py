"""The storage's extension points: actions of business rules, and model modules.

Each hook returns a mapping from a name to what is provided; see
:mod:`caruso_core.hookspecs` for how mappings of several plugins are merged.
"""
from __future__ import annotations

from typing import Any, Callable

from caruso_core.hookspecs import hookspec


@hookspec
def caruso_rule_actions() -> dict[str, Callable[..., Any]]:
    """Actions that business rules of the object model can run, by name."""


@hookspec
def caruso_model_modules() -> dict[str, str]:
    """Model modules by name: paths of XML files of business objects that a model includes
    with ``<include module="NAME"/>`` (e.g. ``"sales"``: opportunities, quotes, sales orders)."""
