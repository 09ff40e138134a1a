"""Errors of caruso: one clear line for the user, intact across the wire.

Every error a component means a caller to see derives from :class:`CarusoError`.
Such an error crosses a Pyro5 connection as plain data (its type name, the names of
its caruso base classes, message and ``details`` dict) and is raised again on the
client as the same class when the client has imported it, else as its nearest base
class the client knows (so a client that imported only ``caruso_core`` catches a
component's ``QuotaExceeded(InvalidInput)`` as :class:`InvalidInput`), with the same
message and the original type name in ``details["type"]``.
"""
from __future__ import annotations

from typing import Any, ClassVar

from Pyro5.serializers import SerializerBase

WIRE_TAG = "caruso.error"


class CarusoError(Exception):
    """A failure worth one line to a user: what went wrong, where, how to fix it.

    ``details`` holds plain data (str, numbers, lists, dicts) for programs.
    """

    registry: ClassVar[dict[str, type["CarusoError"]]] = {}

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        CarusoError.registry[cls.wire_name()] = cls

    @classmethod
    def wire_name(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message


CarusoError.registry[CarusoError.wire_name()] = CarusoError


class RemoteError(CarusoError):
    """An error raised by a service whose type this process does not know."""


class ServiceError(CarusoError):
    """A service failed with an unexpected exception; the message names its type."""


class ConfigError(CarusoError):
    """Bad configuration or user input: a file, an option, a value."""


class InvalidInput(CarusoError):
    """A call's arguments break the interface's contract."""


class NotFound(CarusoError):
    """The thing asked for does not exist."""


class Conflict(CarusoError):
    """The change lost a race (optimistic version check) or breaks a uniqueness rule."""


class NotAuthorized(CarusoError):
    """The caller lacks the secret or role the operation needs."""


class ManagerUnreachable(CarusoError):
    """The service manager did not answer at the address tried."""


class NotLeader(ManagerUnreachable):
    """The manager asked follows another in its group; ``details["leader"]`` is the
    leader's URI when known. A client given several managers tries the others."""


class NoInstance(CarusoError):
    """No live instance matches a name or interface (and property filter)."""


class ServiceMoved(CarusoError):
    """The instance refused the call before running it: it was swapped out or is a standby.

    A client proxy retries such a call on the active instance.
    """


class CallInterrupted(CarusoError):
    """The connection broke while the call was under way: it may or may not have run."""


class CallTimedOut(CallInterrupted):
    """No answer came within the proxy's call timeout: the call may or may not have run."""


class Unavailable(CarusoError):
    """The service cannot do this now (e.g. its database is read-only); the same call may succeed later."""


class SwapFailed(CarusoError):
    """A hot-swap did not happen; the previously active instance stays active."""


def one_line(error: BaseException) -> str:
    """An exception as one line for a user: its type (unless a caruso error) and the first
    line of its message (a database's error carries its SQL on later lines)."""
    first = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, CarusoError):
        return first
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _to_wire(error: CarusoError) -> dict[str, Any]:
    bases = [klass.wire_name() for klass in type(error).__mro__[1:]
             if isinstance(klass, type) and issubclass(klass, CarusoError)]
    return {"__class__": WIRE_TAG, "type": type(error).wire_name(), "bases": bases,
            "message": error.message, "details": error.details}


def _from_wire(_tag: str, data: dict[str, Any]) -> CarusoError:
    names = [data.get("type", ""), *(data.get("bases") or [])]
    cls = next((CarusoError.registry[name] for name in names if name in CarusoError.registry), RemoteError)
    if cls is CarusoError and data.get("type") != CarusoError.wire_name():
        cls = RemoteError
    error = cls.__new__(cls)
    CarusoError.__init__(error, str(data.get("message", "")), **dict(data.get("details") or {}))
    if cls.wire_name() != data.get("type"):
        error.details.setdefault("type", data.get("type"))
    return error


SerializerBase.register_class_to_dict(CarusoError, _to_wire)
SerializerBase.register_dict_to_class(WIRE_TAG, _from_wire)
