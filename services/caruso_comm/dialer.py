"""What a dialer is to the communication server: how campaigns place calls.

A dialer comes from a plugin (hook ``caruso_dialers``): a mapping from a name to a
factory called as ``factory(context, **settings)`` with a :class:`DialerContext` and the
campaign's dialer settings (plain data, ``use`` taken out). The server's ``dialer``
setting names the dialer campaigns use unless their settings name another with ``use``;
the standard one is ``sim`` (:mod:`caruso_comm.dialers.sim`), the simulated telephone
network. The server needs nothing of a dialer but the :class:`Dialer` protocol, so a
telephony component plugs in a dialer of real calls without a change to the server.
"""
from __future__ import annotations

from typing import Any, Callable, ContextManager, Mapping, Protocol

import attrs

from caruso_core import plugins
from caruso_core.errors import ConfigError

from caruso_comm.timers import Timers

HOOK = "caruso_dialers"
STANDARD = "sim"
Report = Callable[[str, str], None]


class Dialer(Protocol):
    """Places the calls of one campaign. ``dial`` starts a call; ``report(call, result)``
    follows once, later, under the server's lock, with ``"answered"`` or a failure such as
    ``"no_answer"``, ``"busy"``, ``"machine"``. ``settings()`` gives the settings that make
    another dialer like it through the same factory (plain data); ``export_state()`` the
    calls not reported yet (plain data); ``import_state`` (on a new dialer, in a hot-swap)
    takes them over and reports them to ``report`` when due."""

    def dial(self, call: str, number: str, report: Report) -> None: ...

    def settings(self) -> dict[str, Any]: ...

    def export_state(self) -> dict[str, Any]: ...

    def import_state(self, state: dict[str, Any], report: Report) -> None: ...


@attrs.frozen
class DialerContext:
    """What a dialer gets from the server. ``timers``: the server's clock and timers (what
    they run, runs under the server's lock); ``lock``: the server's lock (``with lock:``),
    under which a dialer reports what a thread of its own learned; ``client``: the
    deployment's services (e.g. ``client.get("caruso.telephony/1")``); ``channel(name)``:
    a running channel of the server (the SIP dialer places its calls through ``voice``)."""

    timers: Timers
    lock: ContextManager[Any]
    client: Any
    channel: Callable[[str], Any] = attrs.field(default=lambda name: None)


class Dialers:
    """Makes the dialers of one server's campaigns: ``default`` names the one used when a
    campaign's settings name none."""

    def __init__(self, context: DialerContext, default: str = STANDARD) -> None:
        self.context = context
        self.factories = plugins.provided(HOOK)
        self.default = default
        self._check(default)

    def _check(self, name: str) -> None:
        if name not in self.factories:
            raise ConfigError(f"no dialer {name!r} (installed: {', '.join(sorted(self.factories)) or 'none'})")

    def make(self, settings: Mapping[str, Any]) -> tuple[str, Dialer]:
        """The name and a new dialer of ``settings`` (``use`` names the dialer, else the
        default); ConfigError for an unknown name or settings its factory does not take."""
        named = dict(settings)
        name = str(named.pop("use", self.default))
        self._check(name)
        try:
            return name, self.factories[name](self.context, **named)
        except TypeError as error:
            raise ConfigError(f"dialer {name!r}: {error}") from None
