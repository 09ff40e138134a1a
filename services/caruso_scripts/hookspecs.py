"""The script engine's extension point: actions that transitions run.

Each hook returns a mapping from a name to what is provided; see
:mod:`caruso_core.hookspecs` for how mappings of several plugins are merged.
"""
from __future__ import annotations

from typing import Any, Callable

from caruso_core.hookspecs import hookspec


@hookspec
def caruso_script_actions() -> dict[str, Callable[..., Any]]:
    """Actions that dialog-script transitions can run, by the name used in scripts."""
