"""The reports' extension point: output formats.

Each hook returns a mapping from a name to what is provided; see
:mod:`caruso_core.hookspecs` for how mappings of several plugins are merged.
"""
from __future__ import annotations

from typing import Any, Callable

from caruso_core.hookspecs import hookspec


@hookspec
def caruso_report_renderers() -> dict[str, Callable[..., Any]]:
    """Report output formats by name (e.g. ``"csv"``, ``"png"``)."""
