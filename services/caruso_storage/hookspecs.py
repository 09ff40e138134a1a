"""The storage's extension points: actions of business rules, and model modules.

Each hook returns a mapping from a name to what is provided; see
:mod:`caruso_core.hookspecs` for how mappings of several plugins are merged.
"""
from __future__ import annotations

from typing import Any

from caruso_core.hookspecs import hookspec


@hookspec
def caruso_rule_actions() -> dict[str, Any]:
    """Rule actions by the name models use (``<action use="NAME">``): objects following the
    contract of :class:`caruso_storage.rules.RuleAction` (``check`` when the model loads,
    ``run`` inside the transaction of the change)."""


@hookspec
def caruso_model_modules() -> dict[str, str]:
    """Model modules by name: paths of XML files of business objects that a model includes
    with ``<include module="NAME"/>`` (e.g. ``"sales"``: opportunities, quotes, sales orders)."""
