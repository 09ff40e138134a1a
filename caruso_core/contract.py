"""The service contract: what makes a plain class a caruso service.

A service class is decorated with :func:`service`. The methods marked :func:`remote`
(on the class or a base class) are what clients call, nothing else; arguments and
results are plain data (dict, list, str, int, float, bool, None, bytes; dates as ISO
strings, decimals as strings). A lifecycle method or a name starting with ``_`` cannot
be remote: the class is refused when it is decorated. The optional lifecycle methods
are called by the host, never by clients:

``check_config(config, folder)`` (a classmethod)
    not by the host: by ``caruso init`` and ``caruso vertical install`` before they write a
    deployment file (not by ``caruso up``, nor for a file edited by hand): raise
    ConfigError when ``config`` (the service's table, relative paths meaning files in
    ``folder``) cannot work, saying what and where. No side effects; whatever it does not
    check, the start still does.
``start()``
    after construction, before the instance is registered.
``cold_start()``
    when the instance becomes active without a predecessor's state: at start, before it
    registers as the active instance (not on a standby), or when a swap makes
    it active and no state was transferred (no active instance to take over from). It
    runs before the instance takes its first call as the active one; take up the work
    stored by earlier runs here, not in ``start()``, which also runs on a standby that a
    swap will hand the live work. Before an instance first serves as the active one,
    exactly one of ``cold_start()`` and ``import_state()`` happens. A failing
    ``cold_start()`` fails the start (or the swap). In a swap it must finish, like
    ``import_state()``, within the manager's drain timeout.
``stop()``
    after the instance stopped taking calls and in-flight calls finished.
``health() -> dict``
    ``{"status": "ok" | "degraded" | "failing", ...}``; cheap, no side effects.
``export_state() -> plain data``
    while new calls are held and none is in flight (hot-swap, old instance). Exactly one
    of ``deactivate()``, ``resume()`` or (on a roll-back) ``import_state()`` follows,
    unless the process dies.
``resume()``
    on the old instance when the swap after its ``export_state()`` did not happen (the
    manager resumes it, or its host settles an unfinished swap and learns it is still
    the active one): go on with the work it exported.
``import_state(state)``
    on the new instance before it takes its first call (hot-swap); also on an instance
    that a roll-back makes active again after :func:`deactivate`.
``deactivate()``
    on the old instance once a swap handed its work to another (it refuses calls from
    then on, as a standby or before it retires; also when its host settles a swap the
    manager left unfinished and learns it happened): stop acting on your own (timers,
    dialers, pollers), the successor does that work now; ``import_state`` makes it
    active again. Also on a new instance after its ``import_state()`` or ``cold_start()``
    when its host settles a swap the manager left unrecorded (the old one goes on).

The host constructs the class with the deployment's configuration as keyword
arguments, plus ``context`` (a :class:`~caruso_core.context.HostContext`: the client
of the deployment's manager, the registered name, a logger) when ``__init__`` takes a
parameter of that name: ``cls(**config, context=context)``. ``requires`` names the interfaces the service calls
(``caruso up`` starts their providers first); ``autostart`` puts the service in the
default deployment (``caruso up`` in a folder without a deployment file), for which
it must run with no configuration at all.
"""
from __future__ import annotations

import re
from typing import Any, Callable, TypeVar

import attrs

from caruso_core.errors import ConfigError

LIFECYCLE = frozenset({"check_config", "start", "cold_start", "stop", "health", "export_state", "import_state",
                       "deactivate", "resume"})
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
INTERFACE_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,63}/[0-9]{1,4}$")
VERSION_PATTERN = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}")
SPEC_ATTRIBUTE = "__caruso_service__"
REMOTE_ATTRIBUTE = "__caruso_remote__"

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


def remote(method: F) -> F:
    """Mark a method of a service class as callable by clients."""
    setattr(method, REMOTE_ATTRIBUTE, True)
    return method


@attrs.frozen
class ServiceSpec:
    """What a service says of itself: name, interface ("id/major"), version, properties."""

    name: str
    interface: str
    version: str = "0.0.0"
    properties: dict[str, Any] = attrs.field(factory=dict)
    requires: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    autostart: bool = False

    def __attrs_post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ConfigError(f"service name {self.name!r} is invalid: use lower-case letters, digits, '.', '-', '_'")
        if not isinstance(self.version, str) or not VERSION_PATTERN.fullmatch(self.version):
            raise ConfigError(f"version {str(self.version)[:41]!r} of {self.name} is invalid: 1 to 40 letters, digits, "
                              "'.', '+', '-' or '_', starting with a letter or digit, e.g. '1.4.0'")
        if not INTERFACE_PATTERN.match(self.interface):
            raise ConfigError(f"interface {self.interface!r} is invalid: write it as 'id/MAJOR', e.g. 'caruso.storage/1'")
        for required in self.requires:
            if not INTERFACE_PATTERN.match(required):
                raise ConfigError(f"{self.name} requires {required!r}, which is not an interface 'id/MAJOR'")

    def evolve(self, **changes: Any) -> "ServiceSpec":
        """A copy with the non-None values of ``changes`` applied."""
        return attrs.evolve(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def service(*, name: str, interface: str, version: str = "0.0.0",
            properties: dict[str, Any] | None = None, requires: tuple[str, ...] = (),
            autostart: bool = False) -> Callable[[C], C]:
    """Class decorator: declare a class a caruso service with the given identity."""
    spec = ServiceSpec(name, interface, version, dict(properties or {}), requires, autostart)

    def decorate(cls: C) -> C:
        exposed_methods(cls)       # refuses a lifecycle or private method marked remote
        setattr(cls, SPEC_ATTRIBUTE, spec)
        return cls

    return decorate


def spec_of(cls: type) -> ServiceSpec:
    """The :class:`ServiceSpec` of a decorated class, or a ConfigError naming the class."""
    spec = getattr(cls, SPEC_ATTRIBUTE, None)
    if not isinstance(spec, ServiceSpec):
        raise ConfigError(f"{cls.__module__}.{cls.__qualname__} is not a caruso service: "
                          "decorate it with @caruso_core.service(name=..., interface=...)")
    return spec


def exposed_methods(cls: type) -> list[str]:
    """Names of the methods clients may call: marked :func:`remote` on ``cls`` or a base
    (an override need not repeat the mark). A marked lifecycle or private name is a
    ConfigError."""
    names = {name for klass in cls.__mro__ for name, member in vars(klass).items()
             if getattr(member, REMOTE_ATTRIBUTE, False)}
    for name in sorted(names):
        if name in LIFECYCLE:
            raise ConfigError(f"{cls.__qualname__}.{name} is a lifecycle method, which only the host "
                              "calls: it cannot be @remote (rename the client method)")
        if name.startswith("_"):
            raise ConfigError(f"{cls.__qualname__}.{name} starts with '_': it cannot be @remote")
        if not callable(getattr(cls, name, None)):
            raise ConfigError(f"{cls.__qualname__}.{name} is marked @remote but is not a method")
    return sorted(names)
