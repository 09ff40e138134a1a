"""What a host hands the instance it hosts: its way to the rest of the deployment.

Contract: the host builds one :class:`HostContext` per instance and passes it as the
constructor's keyword ``context`` to a class whose ``__init__`` takes a parameter of
that name (``context`` is therefore not a configuration key). Components find the
services they call through ``context.client``, never through process-wide settings,
so that several hosts, each with its own manager, can live in one process.
"""
from __future__ import annotations

import difflib
import inspect
import logging
import threading
from typing import Any

import attrs

from caruso_core.client import Client, connect
from caruso_core.errors import ConfigError, one_line


@attrs.frozen
class HostContext:
    """``client``: a client of the deployment's manager; ``name``: the name the instance
    is registered under; ``log``: a logger named after it; ``draining``: set while the
    host admits no calls (a swap holds them, or it retires): a call that may run long,
    such as a long poll, returns early when it is set, so that in-flight calls end soon;
    ``standby``: the instance starts as a standby (or to replace another): it takes the
    work of its name only once made active (its ``cold_start()`` or ``import_state()``),
    so it must not take customers' connections before (a fixed port stays its active
    predecessor's)."""

    client: Client
    name: str
    log: logging.Logger
    draining: threading.Event = attrs.field(factory=threading.Event)
    standby: bool = False

    @classmethod
    def standalone(cls, name: str, client: Client | None = None) -> "HostContext":
        """A context for an instance made outside a host (a test, a script): ``client``,
        else a client of the manager the environment names (``CARUSO_MANAGER``)."""
        return cls(client or connect(), name, logging.getLogger(f"caruso.{name}"))


def construct(cls: type, config: dict[str, Any], context: HostContext) -> Any:
    """``cls(**config)``, with ``context=context`` if ``cls.__init__`` takes it. A key the
    class does not take, or one it needs and lacks, is a ConfigError naming it (one line),
    as is any other failure of the constructor."""
    if "context" in config:
        raise ConfigError(f"'context' is not a configuration key of {context.name}: the host gives it")
    parameters = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    known = [name for name, p in parameters.items() if name != "context"
             and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    unknown = sorted(set(config) - set(known))
    if unknown and not takes_any:
        close = {key: difflib.get_close_matches(key, known, 1) for key in unknown}
        raise ConfigError(f"{context.name}: unknown configuration key(s) "
                          + ", ".join(f"{key!r}" + (f" (did you mean {close[key][0]!r}?)" if close[key] else "")
                                      for key in unknown)
                          + f"; it takes: {', '.join(known) or 'none'}")
    missing = [name for name in known if parameters[name].default is inspect.Parameter.empty and name not in config]
    if missing:
        raise ConfigError(f"{context.name}: configuration key(s) {', '.join(missing)} missing")
    extra = {"context": context} if "context" in parameters else {}
    try:
        return cls(**config, **extra)
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(f"{context.name} cannot be set up: {one_line(error)}") from error
