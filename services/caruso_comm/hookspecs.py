"""The communication server's extension points: routing strategies and channels.

Each hook returns a mapping from a name to what is provided; see
:mod:`caruso_core.hookspecs` for how mappings of several plugins are merged.
"""
from __future__ import annotations

from caruso_core.hookspecs import hookspec


@hookspec
def caruso_routing_strategies() -> dict[str, type]:
    """ACD routing strategies by name (e.g. ``"longest_idle"``), for the communication server."""


@hookspec
def caruso_channels() -> dict[str, type]:
    """Communication channels by name (e.g. ``"sim"``, ``"webchat"``, ``"email"``)."""
