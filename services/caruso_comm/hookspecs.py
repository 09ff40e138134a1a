"""The communication server's extension points: routing strategies, channels and dialers.

Each hook returns a mapping from a name to what is provided; see
:mod:`caruso_core.hookspecs` for how mappings of several plugins are merged. The
standard ones are plugins of this package (``caruso_comm.strategies``,
``caruso_comm.channels``, ``caruso_comm.dialers``), registered like any other.
"""
from __future__ import annotations

from caruso_core.hookspecs import hookspec


@hookspec
def caruso_routing_strategies() -> dict[str, type]:
    """ACD routing strategies by name (e.g. ``"longest_idle"``): classes implementing
    :class:`caruso_comm.routing.Strategy`."""


@hookspec
def caruso_channels() -> dict[str, type]:
    """Communication channels by name (e.g. ``"sim"``, ``"webchat"``, ``"email"``): classes
    as :mod:`caruso_comm.channel` describes."""


@hookspec
def caruso_dialers() -> dict[str, object]:
    """Dialers of outbound campaigns by name (e.g. ``"sim"``): factories called as
    ``factory(context, **settings)`` returning a :class:`caruso_comm.dialer.Dialer`
    (see :mod:`caruso_comm.dialer`)."""
