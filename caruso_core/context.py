"""What a host hands the instance it hosts: its way to the rest of the deployment.

Contract: the host builds one :class:`HostContext` per instance and passes it as the
constructor's keyword ``context`` to a class whose ``__init__`` takes a parameter of
that name (``context`` is therefore not a configuration key). Components find the
services they call through ``context.client``, never through process-wide settings,
so that several hosts, each with its own manager, can live in one process.
"""
from __future__ import annotations

import inspect
import logging
import threading
from typing import Any

import attrs

from caruso_core.client import Client, connect
from caruso_core.errors import ConfigError


@attrs.frozen
class HostContext:
    """``client``: a client of the deployment's manager; ``name``: the name the instance
    is registered under; ``log``: a logger named after it; ``draining``: set while the
    host admits no calls (a swap holds them, or it retires): a call that may run long,
    such as a long poll, returns early when it is set, so that in-flight calls end soon."""

    client: Client
    name: str
    log: logging.Logger
    draining: threading.Event = attrs.field(factory=threading.Event)

    @classmethod
    def standalone(cls, name: str, client: Client | None = None) -> "HostContext":
        """A context for an instance made outside a host (a test, a script): ``client``,
        else a client of the manager the environment names (``CARUSO_MANAGER``)."""
        return cls(client or connect(), name, logging.getLogger(f"caruso.{name}"))


def construct(cls: type, config: dict[str, Any], context: HostContext) -> Any:
    """``cls(**config)``, with ``context=context`` if ``cls.__init__`` takes it."""
    if "context" in config:
        raise ConfigError(f"'context' is not a configuration key of {cls.__qualname__}: the host gives it")
    if "context" in inspect.signature(cls).parameters:
        return cls(**config, context=context)
    return cls(**config)
